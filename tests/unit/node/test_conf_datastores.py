"""The datastore properties (kongpy/dbconf.py): each one is used or refused by name.

What the PostgreSQL limits and the read-only replica do is tested against the
server in tests/unit/db/test_pg_limits.py; here, what the conf accepts, and
how the Cassandra properties reach the driver (no server needed)."""
from __future__ import annotations

import ssl

import pytest
from cassandra.policies import DCAwareRoundRobinPolicy, RoundRobinPolicy

from kongpy import conf, dbconf
from kongpy.db.strategies import cassandra_conn


@pytest.mark.parametrize("settings, name, fragment", [
    ({"pg_pool_size": "0"}, "pg_pool_size", "must be at least 1"),
    ({"pg_backlog": "-1"}, "pg_backlog", "must be at least 0"),
    ({"pg_max_concurrent_queries": "-2"}, "pg_max_concurrent_queries", "at least 0"),
    ({"pg_semaphore_timeout": "0"}, "pg_semaphore_timeout", "must be at least 1"),
    ({"database": "postgres", "pg_ro_port": "5433"}, "pg_ro_port",
     "the read-only connection is enabled by pg_ro_host, which is not set"),
    ({"database": "postgres", "pg_ro_user": "reader", "pg_ro_ssl": "on"}, "pg_ro_ssl",
     "enabled by pg_ro_host"),
    ({"database": "cassandra", "cassandra_lb_policy": "Random"}, "cassandra_lb_policy",
     "is not one of RoundRobin, RequestRoundRobin, DCAwareRoundRobin, "
     "RequestDCAwareRoundRobin"),
    ({"database": "cassandra", "cassandra_local_datacenter": "dc1"},
     "cassandra_local_datacenter", "only the DC-aware policies use it"),
])
def test_refused_with_the_property_named(make_conf, settings, name, fragment):
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(**settings), env={})
    assert str(info.value).startswith(f"invalid value for '{name}': ")
    assert fragment in str(info.value) and info.value.property == name


@pytest.mark.parametrize("policy", ["DCAwareRoundRobin", "RequestDCAwareRoundRobin"])
def test_dc_aware_policies_need_the_local_datacenter(make_conf, policy):
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(database="cassandra", cassandra_lb_policy=policy), env={})
    # Kong's message, word for word.
    assert str(info.value) == (f"must specify 'cassandra_local_datacenter' when {policy} "
                               "policy is in use")


def test_accepted_settings_are_typed(make_conf):
    values = conf.load(make_conf(database="postgres", pg_pool_size="4", pg_backlog="0",
                                 pg_max_concurrent_queries="2", pg_semaphore_timeout="150",
                                 pg_ro_host="replica.internal", pg_ro_user="reader"),
                       env={})
    main = dbconf.postgres(values)
    assert (main.pool_size, main.backlog, main.max_concurrent_queries,
            main.semaphore_timeout_ms) == (4, 0, 2, 150)
    ro = dbconf.postgres_replica(values)
    assert (ro.host, ro.user, ro.read_only) == ("replica.internal", "reader", True)
    # Unset ones take the read-write value.
    assert (ro.port, ro.database, ro.pool_size) == (main.port, main.database, 4)
    assert dbconf.postgres_replica(conf.load(make_conf(database="postgres"), env={})) is None
    unset = dbconf.postgres(conf.load(make_conf(database="postgres"), env={}))
    assert (unset.pool_size, unset.backlog) == (dbconf.DEFAULT_POOL_SIZE, None)


@pytest.mark.parametrize("name, base, pinned", [
    ("RoundRobin", RoundRobinPolicy, False),
    ("RequestRoundRobin", RoundRobinPolicy, True),
    ("DCAwareRoundRobin", DCAwareRoundRobinPolicy, False),
    ("RequestDCAwareRoundRobin", DCAwareRoundRobinPolicy, True),
])
def test_each_lb_policy_reaches_the_driver(name, base, pinned):
    extra = {"cassandra_local_datacenter": "dc1"} if "DCAware" in name else {}
    settings = dbconf.cassandra({"cassandra_lb_policy": name, **extra})
    connection = cassandra_conn.CassandraConnection(settings)
    policy = connection.policy
    assert isinstance(policy, cassandra_conn.RequestPinnedPolicy) is pinned
    child = policy._child_policy if pinned else policy
    assert type(child) is base
    if base is DCAwareRoundRobinPolicy:
        assert child.local_dc == "dc1"
    profile = connection._profile()
    assert profile.load_balancing_policy is policy
    serial = "LOCAL_SERIAL" if "DCAware" in name else "SERIAL"
    assert profile.serial_consistency_level == getattr(cassandra_conn.ConsistencyLevel, serial)


class _Host:
    def __init__(self, name: str) -> None:
        self.name, self.is_up = name, True


class _Rotating:
    """A child policy that starts each plan at the next host."""

    def __init__(self, hosts):
        self.hosts, self.turn = hosts, 0

    def make_query_plan(self, working_keyspace=None, query=None):
        self.turn += 1
        start = self.turn % len(self.hosts)
        return self.hosts[start:] + self.hosts[:start]


def test_request_policies_keep_one_coordinator_per_write():
    hosts = [_Host("a"), _Host("b"), _Host("c")]
    policy = cassandra_conn.RequestPinnedPolicy(_Rotating(hosts))
    outside = [policy.make_query_plan()[0].name for _ in range(3)]
    assert len(set(outside)) == 3  # statement by statement: round robin
    with policy.pinned():
        inside = [policy.make_query_plan()[0].name for _ in range(3)]
        hosts[[h.name for h in hosts].index(inside[0])].is_up = False
        moved = policy.make_query_plan()[0]
    assert len(set(inside)) == 1  # one write: one coordinator
    assert moved.name != inside[0] and moved.is_up  # unless it goes down


def test_cassandra_ssl_reaches_the_driver(monkeypatch):
    seen = {}

    class FakeCluster:
        def __init__(self, *args, **kwargs):
            seen.update(kwargs)

        def connect(self):
            return type("Session", (), {})()

    monkeypatch.setattr(cassandra_conn, "Cluster", FakeCluster)
    for verify in (False, True):
        settings = dbconf.cassandra({"cassandra_ssl": True, "cassandra_ssl_verify": verify})
        cassandra_conn.CassandraConnection(settings).session()
        context = seen["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.check_hostname is verify
        assert context.verify_mode == (ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
    cassandra_conn.CassandraConnection(dbconf.cassandra({})).session()
    assert seen["ssl_context"] is None
