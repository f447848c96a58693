"""PostgreSQL's per-process limits and its read-only replica, against the server.

pg_max_concurrent_queries / pg_semaphore_timeout, pg_pool_size / pg_backlog
(kongpy/db/strategies/pg_pool.py) and pg_ro_* (DB.for_bulk_reads): each test
fails if its property were accepted and ignored."""
from __future__ import annotations

import threading
import time

import pytest

import kongpy.db
from kongpy.db.strategies.postgres import PostgresStrategy
from kongpy.errors import DatabaseError, DatastoreBusy
from kongpy.sync.model import SnapshotModel
from tests.helpers import datastores


@pytest.fixture
def settings(datastore_pool):
    return datastore_pool.get("postgres")


class Holder:
    """A thread inside a transaction of ``strategy`` until released."""

    def __init__(self, strategy: PostgresStrategy) -> None:
        self.inside, self.leave = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.thread = threading.Thread(target=self._run, args=(strategy,))

    def _run(self, strategy: PostgresStrategy) -> None:
        with strategy.transaction():
            self.pid = strategy._exec("SELECT pg_backend_pid()").fetchone()[0]
            self.inside.set()
            self.leave.wait(10)

    def __enter__(self) -> "Holder":
        self.thread.start()
        assert self.inside.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.leave.set()
        self.thread.join(10)


def _strategy(settings, **limits) -> PostgresStrategy:
    return PostgresStrategy({**settings, **limits})


def test_max_concurrent_queries_and_semaphore_timeout(settings):
    strategy = _strategy(settings, pg_max_concurrent_queries=1, pg_semaphore_timeout=100)
    try:
        with Holder(strategy):
            with pytest.raises(DatastoreBusy, match="^error acquiring query semaphore: "
                                                    "timeout$"):
                strategy._exec("SELECT 1")
        assert strategy._exec("SELECT 1").fetchone() == (1,)
    finally:
        strategy.close()


def test_backlog_bounds_the_callers_waiting_for_a_connection(settings):
    strategy = _strategy(settings, pg_pool_size=1, pg_backlog=1)
    results: list = []
    try:
        with Holder(strategy):
            waiter = threading.Thread(
                target=lambda: results.append(strategy._exec("SELECT 2").fetchone()))
            waiter.start()
            pool = strategy._pool()
            for _ in range(500):
                if pool._waiting:
                    break
                time.sleep(0.01)
            # pg_pool_size connections open, pg_backlog callers waiting: no more.
            with pytest.raises(DatastoreBusy, match="too many waiting connect operations"):
                strategy._exec("SELECT 3")
            assert pool.open_count() == 1
        waiter.join(10)
        assert results == [(2,)]  # the waiting caller got the connection back
    finally:
        strategy.close()


def test_without_backlog_nobody_waits(settings):
    strategy = _strategy(settings, pg_pool_size=1, pg_backlog=0)
    try:
        with Holder(strategy):
            with pytest.raises(DatastoreBusy, match="too many waiting connect operations"):
                strategy._exec("SELECT 1")
    finally:
        strategy.close()


def test_pool_size_bounds_the_idle_connections(settings):
    strategy = _strategy(settings, pg_pool_size=1)
    watcher = _strategy(settings)
    try:
        holders = [Holder(strategy) for _ in range(3)]
        for holder in holders:
            holder.__enter__()  # three at once: without a backlog, three connections
        pids = [h.pid for h in holders]
        assert len(set(pids)) == 3
        for holder in holders:
            holder.__exit__()
        # One is kept for reuse, the others are closed.
        for _ in range(500):
            alive = watcher._exec("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                                  (pids,)).fetchone()[0]
            if alive == 1:
                break
            time.sleep(0.01)
        assert alive == 1 and strategy._pool().open_count() == 1
    finally:
        strategy.close()
        watcher.close()


@pytest.fixture
def primary_and_replica(tmp_path):
    """Two bootstrapped schemas: the second stands for the read-only replica."""
    primary = datastores.isolated("postgres", tmp_path)
    replica = datastores.isolated("postgres", tmp_path)
    for one in (primary, replica):
        handle = kongpy.db.open(one)
        handle.migrations.bootstrap()
        handle.close()
    yield primary, replica
    for one in (primary, replica):
        datastores.drop(one)


def _with_replica(primary, replica):
    return {**primary, "pg_ro_host": replica["pg_host"], "pg_ro_schema": replica["pg_schema"]}


def test_full_loads_read_the_replica_once_it_caught_up(primary_and_replica):
    primary, replica = primary_and_replica
    seed = kongpy.db.open(replica)
    db = kongpy.db.open(_with_replica(primary, replica))
    try:
        db.services.insert({"name": "on-primary", "host": "x"})
        for name in ("on-replica", "also-on-replica"):
            seed.services.insert({"name": name, "host": "y"})
        assert db.replica is not None and db.for_bulk_reads() is db.replica
        model = SnapshotModel()
        model.sync(db)
        assert model.version == 2
        names = {row["name"] for shard in model._rows["services"].values()
                 for row in shard.values()}
        assert names == {"on-replica", "also-on-replica"}
    finally:
        seed.close()
        db.close()


def test_a_lagging_replica_is_not_read(primary_and_replica):
    primary, replica = primary_and_replica
    db = kongpy.db.open(_with_replica(primary, replica))
    try:
        db.services.insert({"name": "new", "host": "x"})
        assert db.replica.events.latest() == 0 < db.events.latest()
        assert db.for_bulk_reads() is db
        model = SnapshotModel()
        model.sync(db)
        names = {row["name"] for shard in model._rows["services"].values()
                 for row in shard.values()}
        assert (model.version, names) == (1, {"new"})
    finally:
        db.close()


def test_the_replica_connection_is_read_only(primary_and_replica):
    primary, replica = primary_and_replica
    db = kongpy.db.open(_with_replica(primary, replica))
    try:
        with pytest.raises(DatabaseError, match="read-only transaction"):
            db.replica.services.insert({"host": "x"})
        assert db.replica.strategy.describe().startswith("postgres replica at ")
    finally:
        db.close()
