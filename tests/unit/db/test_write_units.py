"""A write and its cluster event land together, or neither does, on every datastore.

SQLite and PostgreSQL get this from their transactions; Cassandra from its
write unit (kongpy/db/strategies/cassandra_unit.py): the row, its tag index
rows and its event intent go in one logged batch, and a change whose writer
died before numbering it is published by the next node that polls."""
from __future__ import annotations

import time

import pytest

import kongpy.db
from kongpy.db.strategies import cassandra_events
from kongpy.errors import DatabaseError, UniqueViolation
from tests.helpers import datastores


class EventStoreDown(Exception):
    pass


@pytest.fixture
def failing_events(db, monkeypatch):
    """Every cluster event fails to be recorded."""
    def fail(*args, **kwargs):
        raise EventStoreDown("cluster events unavailable")
    monkeypatch.setattr(db.strategy, "append_event", fail)
    return monkeypatch


def test_an_insert_whose_event_fails_stores_nothing(db, failing_events):
    with pytest.raises(EventStoreDown):
        db.services.insert({"name": "lost", "host": "x", "tags": ["t"]})
    failing_events.undo()
    assert db.services.select_by_key("lost") is None
    assert list(db.services.each()) == [] and db.tags.page()[0] == []
    assert db.events.latest() == 0
    # Its unique name was given back with it.
    row = db.services.insert({"name": "lost", "host": "y"})
    assert db.services.select_by_key("lost") == row and db.events.latest() == 1


def test_an_update_or_delete_whose_event_fails_changes_nothing(db, monkeypatch):
    svc = db.services.insert({"name": "kept", "host": "x", "tags": ["a"]})

    def fail(*args, **kwargs):
        raise EventStoreDown("cluster events unavailable")
    monkeypatch.setattr(db.strategy, "append_event", fail)
    with pytest.raises(EventStoreDown):
        db.services.update("kept", {"name": "renamed", "tags": ["b"]})
    with pytest.raises(EventStoreDown):
        db.services.delete("kept")
    monkeypatch.undo()
    assert db.services.select_by_key("kept") == svc
    assert db.services.select_by_key("renamed") is None
    assert [r["tag"] for r in db.tags.page()[0]] == ["a"]
    assert db.events.latest() == 1
    with pytest.raises(UniqueViolation):
        db.services.insert({"name": "kept", "host": "y"})
    assert db.services.insert({"name": "renamed", "host": "y"})["name"] == "renamed"


def test_a_transaction_reads_its_own_changes(db):
    """On Cassandra each change is its own batch, sent before the unit reads."""
    with db.strategy.transaction():
        svc = db.services.insert({"name": "parent", "host": "x"})
        route = db.routes.insert({"paths": ["/"], "service": {"name": "parent"}})
        assert db.routes.count(service=svc["id"]) == 1
    assert db.routes.select(route["id"])["service"] == {"id": svc["id"]}
    assert db.events.latest() == 2


def _cassandra(db) -> None:
    if db.database != "cassandra":
        pytest.skip("SQL stores get this from their transactions (the tests above)")


def test_cassandra_sends_the_row_its_tags_and_its_event_as_one_batch(db, monkeypatch):
    _cassandra(db)
    batches = []
    send = db.strategy.cql.batch

    def recording(statements):
        batches.append([cql.split(" (")[0].split(" WHERE")[0] for cql, _ in statements])
        return send(statements)
    monkeypatch.setattr(db.strategy.cql, "batch", recording)
    db.services.insert({"name": "s", "host": "x", "tags": ["a"]})
    table = db.strategy.t
    assert batches[0] == [f"INSERT INTO {table('services')}",
                          f"INSERT INTO {table('tags')}",
                          f"INSERT INTO {table('tags_by_entity')}",
                          f"INSERT INTO {table('cluster_changes')}"]
    # Then the version, with its event rows, in one conditional batch.
    assert batches[1][0].startswith(f"UPDATE {table('cluster_events')} USING TTL 0")
    assert batches[1][1:] == [f"INSERT INTO {table('cluster_events')}"]


def test_cassandra_batch_that_fails_stores_nothing(db, monkeypatch):
    _cassandra(db)
    send = db.strategy.cql.batch

    def refused(statements):
        raise DatabaseError("[cassandra] batch refused")
    monkeypatch.setattr(db.strategy.cql, "batch", refused)
    with pytest.raises(DatabaseError):
        db.services.insert({"name": "s", "host": "x", "tags": ["a"]})
    monkeypatch.setattr(db.strategy.cql, "batch", send)
    assert db.services.select_by_key("s") is None and list(db.services.each()) == []
    assert db.tags.page()[0] == [] and db.events.latest() == 0


def test_cassandra_publishes_a_change_whose_writer_died(backend, db, monkeypatch):
    _cassandra(db)

    def dies(intents):
        raise DatabaseError("[cassandra] the writer died before numbering its change")
    monkeypatch.setattr(db.strategy.events, "publish", dies)
    svc = db.services.insert({"name": "orphan", "host": "x"})
    monkeypatch.undo()
    # Stored, but no version announces it yet...
    other = kongpy.db.open(backend)
    try:
        assert other.services.select_by_key("orphan") == svc
        assert other.events.latest() == 0
        # ...until a node's poll finds it old enough: it is published once.
        later = time.time() + cassandra_events.PUBLISH_AFTER_S + 120
        assert other.strategy.events.heal(now=later) == 1
        assert other.events.latest() == 1
        assert [e["data"] for e in other.events.since(0)] == [f"services:create:{svc['id']}"]
        assert db.strategy.events.heal(now=later + 60) == 0
    finally:
        other.close()


def test_cassandra_compare_and_set_without_its_event_is_published(db, monkeypatch):
    _cassandra(db)
    bob = db.consumers.insert({"username": "bob"})
    cred = db.basicauth_credentials.insert({"consumer": {"id": bob["id"]},
                                            "username": "bob", "password": "pw"})
    before = db.events.latest()
    stored = db.basicauth_credentials.select(cred["id"])

    def dies(*args, **kwargs):
        raise EventStoreDown("the writer died after its conditional write")
    monkeypatch.setattr(db.strategy, "append_event", dies)
    with pytest.raises(EventStoreDown):
        db.basicauth_credentials.compare_and_set(cred["id"], "password", stored["password"],
                                                 "rehashed")
    monkeypatch.undo()
    assert db.basicauth_credentials.select(cred["id"])["password"] == "rehashed"
    assert db.events.latest() == before
    later = time.time() + cassandra_events.PUBLISH_AFTER_S + 120
    assert db.strategy.events.heal(now=later) == 1
    # An event nodes cannot read as one row's change: they reload everything.
    assert db.events.latest() == before + 1
    assert db.events.since(before)[0]["data"].startswith("unconfirmed compare-and-set")


def test_cassandra_version_moves_into_the_events_partition(tmp_path):
    """Step 003 on a datastore bootstrapped when the version had a row of its own."""
    settings = datastores.isolated("cassandra", tmp_path)
    db = kongpy.db.open(settings)
    try:
        db.migrations.bootstrap()
        cql, t = db.strategy.cql, db.strategy.t
        # The layout before the step: no static column, a cluster_version row.
        cql.ddl(f"ALTER TABLE {t('cluster_events')} DROP version")
        cql.ddl(f"CREATE TABLE {t('cluster_version')} (name text PRIMARY KEY, "
                "version bigint)")
        cql.run(f"INSERT INTO {t('cluster_version')} (name, version) VALUES (?, ?)",
                ("events", 41))
        meta = db.strategy.meta_get("core")
        with db.strategy.transaction():
            db.strategy.meta_set("core", [s for s in meta["executed"]
                                          if s != "003_cassandra_versions"], [])
        assert db.migrations.up() == ["003_cassandra_versions"]
        assert db.events.latest() == 41
        db.services.insert({"host": "x"})
        assert db.events.latest() == 42 and db.events.since(41)[0]["id"] == 42
        assert db.migrations.finish() == ["003_cassandra_versions"]
        assert "cluster_version" not in db.strategy._tables()
    finally:
        db.close()
        datastores.drop(settings)
