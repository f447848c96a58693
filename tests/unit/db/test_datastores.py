"""Datastore behaviour beyond plain CRUD: migrations that fail midway, races on
unique values, change notifications. Each runs on every backend unless the
behaviour really differs."""
import select
import threading
import time
import uuid

import pytest

import kongpy.db
from kongpy.db.migrations import Migration, MigrationFailed, create_tables
from kongpy.db.strategies import cassandra_unit
from kongpy.db.strategies.base import TableDef
from kongpy.errors import UniqueViolation
from tests.helpers import datastores


@pytest.fixture(params=datastores.BACKENDS)
def fresh(request, tmp_path):
    """Settings of a datastore nobody has bootstrapped yet."""
    settings = datastores.isolated(request.param, tmp_path)
    yield settings
    if request.param != "sqlite":
        datastores.drop(settings)


def _broken(strategy) -> None:
    strategy.create_table(TableDef("zz_half"))
    raise RuntimeError("disk on fire")


def test_failed_migration_is_explained_and_resumed(fresh):
    db = kongpy.db.open(fresh)
    try:
        ok = Migration("000_ok", create_tables(TableDef("zz_ok")))
        db.migrations.add("extra", [ok, Migration("001_half", _broken)])
        with pytest.raises(MigrationFailed, match="migration extra:001_half failed: disk on "
                                                  "fire.*'kongpy migrations up' to resume"):
            db.migrations.bootstrap()
        state = db.migrations.state()
        assert state["bootstrapped"] and state["new"] == ["extra:001_half"]
        assert "extra:000_ok" in state["executed"] and "000_base" in state["executed"]
        assert db.migrations.bootstrap() == []  # already bootstrapped: nothing re-runs

        db.migrations.add("extra", [ok, Migration("001_half", create_tables(
            TableDef("zz_half")))])
        assert db.migrations.up() == ["extra:001_half"]
        assert db.migrations.up() == [] and db.migrations.state()["new"] == []
        # Core data still works after the detour.
        assert db.services.insert({"host": "x"})["host"] == "x"
    finally:
        db.close()


def test_unique_value_race_has_one_winner(backend, db):
    results: list[str] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        handle = kongpy.db.open(backend)
        try:
            barrier.wait()
            handle.services.insert({"name": "contested", "host": "x"})
            results.append("created")
        except UniqueViolation:
            results.append("409")
        finally:
            handle.close()

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["409"] * 5 + ["created"]
    assert len(list(db.services.each())) == 1


def test_renaming_frees_the_old_name(db):
    svc = db.services.insert({"name": "old", "host": "x"})
    db.services.update(svc["id"], {"name": "new"})
    assert db.services.select_by_key("old") is None
    assert db.services.insert({"name": "old", "host": "y"})["name"] == "old"
    with pytest.raises(UniqueViolation):
        db.services.update(svc["id"], {"name": "old"})
    assert db.services.select_by_key("new")["id"] == svc["id"]


def test_cassandra_takes_over_a_claim_without_row(db):
    if db.database != "cassandra":
        pytest.skip("only Cassandra keeps unique values in lookup tables")
    # What a writer that died between claiming a name and writing its row leaves.
    lookup = db.strategy.t("services_by_name")
    written = int((time.time() - cassandra_unit.STALE_CLAIM_S - 5) * 1e6)
    db.strategy.cql.run(f"INSERT INTO {lookup} (value, id) VALUES (?, ?) USING TIMESTAMP ?",
                        ("orphan", str(uuid.uuid4()), written))
    assert db.services.insert({"name": "orphan", "host": "x"})["name"] == "orphan"
    # A young claim is left alone: its writer may be about to write its row.
    db.strategy.cql.run(f"INSERT INTO {lookup} (value, id) VALUES (?, ?)",
                        ("young", str(uuid.uuid4())))
    with pytest.raises(UniqueViolation):
        db.services.insert({"name": "young", "host": "x"})


def test_postgres_notifies_listeners_on_commit(backend, db):
    if db.database != "postgres":
        pytest.skip("only PostgreSQL pushes changes (LISTEN/NOTIFY); the others are polled")
    listener = db.strategy.listener()
    try:
        other = kongpy.db.open(backend)
        try:
            other.services.insert({"host": "x"})
        finally:
            other.close()
        ready, _, _ = select.select([listener], [], [], 5)
        assert ready and listener.drain() >= 1
    finally:
        listener.close()
