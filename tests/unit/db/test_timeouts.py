"""``pg_timeout`` and ``cassandra_timeout`` bound every wait for the datastore.

Against the real servers: the server-side timeouts and keepalives a
PostgreSQL session gets, the driver timeouts a Cassandra session gets, and
what a caller sees when the server falls silent. A silent PostgreSQL is a
private instance frozen with SIGSTOP; a silent Cassandra is a frozen relay in
front of the shared server (tests/helpers/outage.py), which stays untouched.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT

from kongpy.db.strategies.cassandra import CassandraStrategy
from kongpy.db.strategies.outage import PROBE_EVERY_S, Outage
from kongpy.db.strategies.postgres import PostgresStrategy
from kongpy.errors import DatastoreUnavailable
from tests.helpers import datastores
from tests.helpers.outage import OwnPostgres, Relay, timed

TIMEOUT_MS = 1000
BOUND_S = TIMEOUT_MS / 1000 + 1


def _waits_for_the_probe() -> None:
    time.sleep(PROBE_EVERY_S + 0.1)


# -- the outage bookkeeping, on its own ------------------------------------------------

class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_outage_fails_fast_and_lets_one_probe_through():
    clock = _Clock()
    outage = Outage(clock)
    with outage.admitted():
        outage.no_answer("silent")
    with pytest.raises(DatastoreUnavailable, match="^silent$"):
        with outage.admitted():
            pass
    clock.now += PROBE_EVERY_S
    other: list = []
    with outage.admitted():  # the probe: one caller at a time
        thread = threading.Thread(target=lambda: other.append(timed(_enter, outage)[1]))
        thread.start()
        thread.join(5)
        outage.recheck()  # the probe itself goes on waiting for the server
        outage.answered()
    assert isinstance(other[0], DatastoreUnavailable)
    assert outage.reason is None
    with outage.admitted():
        outage.recheck()


def _enter(outage: Outage) -> None:
    with outage.admitted():
        pass


def test_a_call_already_inside_stops_at_its_next_wait():
    outage = Outage(_Clock())
    with outage.admitted():
        outage.no_answer("silent")  # another thread's call, say
        with pytest.raises(DatastoreUnavailable, match="^silent$"):
            outage.recheck()


# -- PostgreSQL ------------------------------------------------------------------------

@pytest.fixture
def pg_settings(datastore_pool):
    return {**datastore_pool.get("postgres"), "pg_timeout": TIMEOUT_MS}


def test_pg_sessions_carry_timeouts_and_keepalives(pg_settings):
    strategy = PostgresStrategy(pg_settings)
    try:
        shown = {name: strategy._exec(f"SHOW {name}").fetchone()[0] for name in (
            "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout",
            "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")}
        # The server's own timeouts fire a little before the client's deadline.
        assert shown == {"statement_timeout": "800ms", "lock_timeout": "800ms",
                         "idle_in_transaction_session_timeout": "800ms",
                         "tcp_keepalives_idle": "1", "tcp_keepalives_interval": "1",
                         "tcp_keepalives_count": "3"}
    finally:
        strategy.close()


def test_a_slow_pg_statement_is_cancelled_by_the_server(pg_settings):
    strategy = PostgresStrategy(pg_settings)
    try:
        took, result = timed(strategy._exec, "SELECT pg_sleep(5)")
        assert isinstance(result, DatastoreUnavailable), result
        assert result.message == ("cannot reach the datastore (postgres at 127.0.0.1:"
                                  f"{pg_settings['pg_port']}): canceling statement due to "
                                  "statement timeout")
        assert took < BOUND_S
        # The server answered: its connection stays usable and nobody fails fast.
        assert strategy._pool().open_count() == 1
        assert strategy._exec("SELECT 1").fetchone() == (1,)
        assert strategy._pool().outage.reason is None
    finally:
        strategy.close()


@pytest.fixture
def own_postgres():
    datastores.require_server("postgres")  # the shared server proves the binaries work
    server = OwnPostgres("timeouts").start()
    yield server
    server.stop()


def test_a_frozen_pg_is_bounded_everywhere(own_postgres):
    strategy = PostgresStrategy(own_postgres.settings(TIMEOUT_MS, schema="public"))
    silent = (f"cannot reach the datastore (postgres at 127.0.0.1:{own_postgres.port}): "
              f"no answer within {TIMEOUT_MS} ms")
    try:
        with ThreadPoolExecutor(3) as pool:  # three pooled connections, idle
            list(pool.map(lambda _: _held(strategy), range(3)))
        with own_postgres.frozen():
            # Calls on idle connections, new connections and inside a
            # transaction: each ends within the timeout, none after another.
            calls = [lambda: strategy._exec("SELECT 1")] * 6 + [
                lambda: _in_transaction(strategy), strategy.listener]
            started = time.monotonic()
            with ThreadPoolExecutor(len(calls)) as pool:
                answers = list(pool.map(lambda call: timed(call)[1], calls))
            assert time.monotonic() - started < BOUND_S
            assert [str(a) for a in answers] == [silent] * len(calls)
            assert strategy._pool().open_count() == 0  # no silent connection kept

            _waits_for_the_probe()  # a new connection, to a frozen postmaster
            took, answer = timed(strategy._exec, "SELECT 2")
            assert str(answer) == silent and took < BOUND_S
        _waits_for_the_probe()
        assert strategy._exec("SELECT 3").fetchone() == (3,)
        listener = strategy.listener()
        listener.close()
    finally:
        strategy.close()


def _held(strategy: PostgresStrategy) -> None:
    with strategy.transaction():
        strategy._exec("SELECT 1")
        time.sleep(0.2)  # the three overlap: three connections


def _in_transaction(strategy: PostgresStrategy) -> None:
    with strategy.transaction():
        strategy._exec("SELECT 1")


# -- Cassandra -------------------------------------------------------------------------

@pytest.fixture
def cassandra_settings():
    datastores.require_server("cassandra")
    return {**datastores.cassandra_settings("system"), "cassandra_timeout": TIMEOUT_MS}


def test_cassandra_timeout_reaches_the_driver(cassandra_settings):
    strategy = CassandraStrategy(cassandra_settings)
    try:
        session = strategy.cql.session()
        cluster = session.cluster
        assert (cluster.connect_timeout, cluster.control_connection_timeout,
                session.default_timeout,  # prepare() waits this long
                session.get_execution_profile(EXEC_PROFILE_DEFAULT).request_timeout) == (1.0,) * 4
        assert strategy.ping()
    finally:
        strategy.close()


def test_a_silent_cassandra_is_bounded(cassandra_settings):
    relay = Relay(cassandra_settings["cassandra_contact_points"][0],
                  cassandra_settings["cassandra_port"])
    strategy = CassandraStrategy({**cassandra_settings, "cassandra_port": relay.port})
    silent = (f"cannot reach the datastore (cassandra at 127.0.0.1:{relay.port}): "
              f"no answer within {TIMEOUT_MS} ms")
    query = "SELECT release_version FROM system.local WHERE key = ?"
    try:
        assert strategy.cql.run("SELECT release_version FROM system.local").one()
        with relay.frozen():
            # A statement, a statement to prepare, and callers queued behind them.
            calls = [lambda: strategy.cql.run("SELECT cluster_name FROM system.local"),
                     lambda: strategy.cql.run(query, ["local"])] * 3
            started = time.monotonic()
            with ThreadPoolExecutor(len(calls)) as pool:
                answers = list(pool.map(lambda call: timed(call)[1], calls))
            assert time.monotonic() - started < BOUND_S
            assert [str(a) for a in answers] == [silent] * len(calls)
            assert strategy.ping() is False
        deadline = time.monotonic() + 10
        while not strategy.ping():  # the driver's connections come back by themselves
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert strategy.cql.run(query, ["local"]).one()
    finally:
        strategy.close()
        relay.close()
