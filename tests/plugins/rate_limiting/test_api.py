"""rate-limiting: its config schema (Kong 3.9 messages), the redis_* shorthands,
the cluster counters' way to the datastore and the rendered shared dict."""
from __future__ import annotations

import pytest

from kongpy import conf
from kongpy.db import metrics
from kongpy.render import context
from kongpy.sync import counters
from tests.helpers.http import admin

PERIODS = ("second", "minute", "hour", "day", "month", "year")
AT_LEAST_ONE = ("at least one of these fields must be non-empty: "
                + ", ".join(f"'config.{p}'" for p in PERIODS))
POLICY = "failed conditional validation given value of field 'config.policy'"


def test_rate_limiting_defaults(client):
    config = admin(client).plugin("rate-limiting", {"minute": 10})["config"]
    assert config == {
        "second": None, "minute": 10, "hour": None, "day": None, "month": None, "year": None,
        "limit_by": "consumer", "header_name": None, "path": None, "policy": "local",
        "fault_tolerant": True,
        "redis": {"host": None, "port": 6379, "timeout": 2000, "username": None,
                  "password": None, "database": 0, "ssl": False, "ssl_verify": False,
                  "server_name": None},
        "hide_client_headers": False, "error_code": 429,
        "error_message": "API rate limit exceeded", "sync_rate": -1,
        # Kong 3.9 shows the deprecated flat names again on reads
        "redis_host": None, "redis_port": 6379, "redis_timeout": 2000,
        "redis_username": None, "redis_password": None, "redis_database": 0,
        "redis_ssl": False, "redis_ssl_verify": False, "redis_server_name": None}


def test_rate_limiting_errors(client):
    body = admin(client).plugin("rate-limiting", None, 400)
    assert body["name"] == "schema violation"
    assert body["fields"] == {"@entity": [AT_LEAST_ONE]}
    body = admin(client).plugin("rate-limiting", {"minute": -1}, 400)
    assert body["fields"] == {"config": {"minute": "value must be greater than 0"}}
    body = admin(client).plugin("rate-limiting", {"minute": 20, "hour": 10}, 400)
    assert body["fields"] == {"config": "The limit for hour(10.0) cannot be lower than "
                                        "the limit for minute(20.0)"}
    body = admin(client).plugin("rate-limiting", {"minute": 5, "policy": "redis"}, 400)
    assert body["fields"] == {"@entity": [POLICY],
                              "config": {"redis": {"host": "required field missing"}}}
    body = admin(client).plugin("rate-limiting", {"minute": 5, "policy": "nope"}, 400)
    assert body["fields"] == {"config": {"policy": "expected one of: local, cluster, redis"}}
    body = admin(client).plugin("rate-limiting", {"minute": 5, "limit_by": "header"}, 400)
    assert body["fields"] == {
        "@entity": ["failed conditional validation given value of field 'config.limit_by'"],
        "config": {"header_name": "required field missing"}}


def test_flat_redis_names_are_mapped(client):
    config = admin(client).plugin("rate-limiting", {
        "minute": 5, "policy": "redis", "redis_host": "10.0.0.1", "redis_port": 6380,
        "redis_database": 2, "redis_password": "pw"})["config"]
    assert config["redis"]["host"] == "10.0.0.1"
    assert (config["redis"]["port"], config["redis"]["database"]) == (6380, 2)
    assert config["redis"]["password"] == "pw"
    # as Kong 3.9 reads it: the deprecated names show again, with the values
    # of the fields they map to
    assert (config["redis_host"], config["redis_port"]) == ("10.0.0.1", 6380)
    assert config["redis_ssl"] is False and config["redis_username"] is None
    plugin = admin(client).get("/plugins")["data"][0]
    admin(client).patch(f"/plugins/{plugin['id']}", {"config": {"redis": {"port": 6381}}})
    assert admin(client).get(f"/plugins/{plugin['id']}")["config"]["redis_port"] == 6381
    # a PATCH with a deprecated name alone replaces the value it maps to (Kong
    # expands the patch before merging it), the other redis fields stay
    config = admin(client).patch(f"/plugins/{plugin['id']}",
                                 {"config": {"redis_host": "testhost"}})["config"]
    assert (config["redis"]["host"], config["redis_host"]) == ("testhost", "testhost")
    assert (config["redis"]["port"], config["redis"]["database"]) == (6381, 2)
    assert admin(client).get(f"/plugins/{plugin['id']}")["config"]["redis_host"] == "testhost"
    # a deprecated name that disagrees with the field it maps to is refused
    admin(client).patch(f"/plugins/{plugin['id']}",
                        {"config": {"redis_port": 1, "redis": {"port": 2}}}, 400)


class _DataPlane:
    """The control-socket side of the `cluster` policy, as the sync loop sees it."""

    def __init__(self, taken):
        self.taken, self.settled = taken, []

    def take_counters(self):
        return self.taken

    def settle_counters(self, totals, returned, error=None):
        self.settled.append((totals, returned, error))


def test_cluster_counters_reach_the_datastore_and_totals_come_back(client):
    db = client.application.extensions["kongpy"]["db"]
    row = {"table": "ratelimiting_metrics", "key": "k1", "identifier": "c1",
           "period": "minute", "period_date": 1700000040000, "service_id": "s",
           "route_id": "r", "value": 3, "ttl": 60}
    dp = _DataPlane([row])
    assert counters.sync(dp, db) == 1
    dp.taken = [dict(row)]
    counters.sync(dp, db)
    assert [t for t, _, _ in dp.settled] == [[{"key": "k1", "value": 3, "ttl": 60}],
                                             [{"key": "k1", "value": 6, "ttl": 60}]]
    # what cannot be stored goes back to the data plane, with the reason
    bad = dict(row, table="nope", key="k2")
    dp = _DataPlane([bad])
    with pytest.raises(metrics.BadBatch):
        counters.sync(dp, db)
    ((totals, returned, error),) = dp.settled
    assert totals == [] and returned == [bad] and "unknown table" in error


def test_shared_dict(tmp_path):
    config = conf.load(None, env={}, overrides={"prefix": str(tmp_path)})
    ctx = context.template_context(config, "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    assert {"name": "kongpy_ratelimit", "size": "12m"} in ctx["shared_dicts"]
    config = conf.load(None, env={}, overrides={"prefix": str(tmp_path),
                                                "plugins": "key-auth"})
    ctx = context.template_context(config, "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    assert all(d["name"] != "kongpy_ratelimit" for d in ctx["shared_dicts"])


def test_sync_rate_is_kept_with_redis_only(client):
    """Kong 3.9 accepts a batching sync_rate (>= 0.02) with the redis policy
    (kongpy counts in redis on every request, which keeps any rate) and
    refuses any other value than -1 with the other policies."""
    redis = {"host": "127.0.0.1", "port": 6379}
    config = admin(client).plugin("rate-limiting", {
        "minute": 5, "policy": "redis", "redis": redis, "sync_rate": 10})["config"]
    assert config["sync_rate"] == 10
    body = admin(client).plugin("rate-limiting", {
        "minute": 5, "policy": "redis", "redis": redis, "sync_rate": 0.01}, 400)
    assert body["fields"] == {"config": "sync_rate must be greater than 0.02, or -1 to disable"}
    body = admin(client).plugin("rate-limiting", {"minute": 5, "sync_rate": 10}, 400)
    assert body["fields"] == {"config": "sync_rate can only be used with the redis policy"}
    body = admin(client).plugin("rate-limiting", {"minute": 5, "policy": "cluster",
                                                  "sync_rate": 0.5}, 400)
    assert body["fields"] == {"config": "sync_rate can only be used with the redis policy"}
