import threading
import time

import pytest

import kongpy.db
import kongpy.plugins
from kongpy.db import paging
from kongpy.errors import (ConfigError, ForeignKeysUnresolved, ForeignKeyViolation,
                           InvalidOffset, InvalidOptions, InvalidSize, NotFound,
                           PrimaryKeyViolation, SchemaViolation, UniqueViolation)

SID = "5a0c1d39-1b2f-4a3e-9a27-7f0f8e3d8a11"


def test_open_rejects_unknown_databases(tmp_path):
    with pytest.raises(ConfigError, match="a prefix is required when database = off"):
        kongpy.db.open({"database": "off"})
    with pytest.raises(ConfigError, match="unknown database"):
        kongpy.db.open({"database": "mysql"})


def test_migrations_state(tmp_path):
    db = kongpy.db.open({"database": "sqlite", "sqlite_path": str(tmp_path / "m.db")})
    assert db.migrations.state()["bootstrapped"] is False
    core = ["000_base", "001_consumers_plugins", "002_admin_tokens",
            "004_ratelimiting_counters", "005_upstreams_targets", "006_certificates_vaults",
            "007_config_history", "008_keys_key_sets"]
    ran = db.migrations.bootstrap()
    # Core steps first, then each bundled plugin's own, named after it.
    assert ran[:len(core)] == core
    plugin_steps = ran[len(core):]
    assert {"acl:000_base_acl", "basic-auth:000_base_basic_auth",
            "key-auth:000_base_key_auth"} <= set(plugin_steps)
    assert all(step.split(":", 1)[0] in kongpy.plugins.bundled_names()
               for step in plugin_steps)
    state = db.migrations.state()
    assert state["executed"] == core + plugin_steps
    assert (state["bootstrapped"], state["pending"], state["new"]) == (True, [], [])
    assert state["subsystems"]["key-auth"] == {
        "executed": ["000_base_key_auth"], "pending": [], "new": []}
    assert db.migrations.up() == [] and db.migrations.finish() == []
    db.migrations.reset()
    assert db.migrations.state()["bootstrapped"] is False


def test_crud_and_events(db):
    assert db.events.latest() == 0
    svc = db.services.insert({"name": "s1", "host": "example.com", "tags": ["a"]})
    assert svc["created_at"] == svc["updated_at"] and db.events.latest() == 1
    assert db.services.select(svc["id"]) == svc
    assert db.services.select_by_key("s1") == svc
    updated = db.services.update("s1", {"port": 8080})
    assert updated["port"] == 8080 and updated["host"] == "example.com"
    assert db.events.latest() == 2
    replaced = db.services.upsert("s1", {"host": "other"})
    assert replaced["id"] == svc["id"] and replaced["port"] == 80 and replaced["tags"] is None
    assert db.services.delete(svc["id"]) is True
    assert db.services.delete(svc["id"]) is False
    assert db.events.latest() == 4
    events = db.events.since(0)
    assert [e["data"].split(":")[1] for e in events] == ["create", "update", "update", "delete"]


def test_upsert_by_id_creates(db):
    row = db.services.upsert(SID, {"host": "x"})
    assert row["id"] == SID and db.services.select(SID)["host"] == "x"


def test_update_missing(db):
    with pytest.raises(NotFound) as info:
        db.services.update(SID, {"host": "x"})
    assert info.value.message == f"could not find the entity with primary key '{{id=\"{SID}\"}}'"


def test_unique_and_primary_key(db):
    db.services.insert({"id": SID, "name": "s1", "host": "x"})
    with pytest.raises(UniqueViolation) as info:
        db.services.insert({"name": "s1", "host": "y"})
    assert info.value.to_body()["message"] == "UNIQUE violation detected on '{name=\"s1\"}'"
    with pytest.raises(PrimaryKeyViolation):
        db.services.insert({"id": SID, "host": "y"})
    assert db.events.latest() == 1


def test_restrict_delete_and_fk(db):
    svc = db.services.insert({"name": "s1", "host": "x"})
    route = db.routes.insert({"paths": ["/"], "service": {"name": "s1"}})
    assert route["service"] == {"id": svc["id"]}
    with pytest.raises(ForeignKeyViolation) as info:
        db.services.delete("s1")
    assert info.value.fields == {"@referenced_by": "routes"}
    with pytest.raises(ForeignKeyViolation):
        db.routes.insert({"paths": ["/"], "service": {"id": SID}})
    with pytest.raises(ForeignKeysUnresolved):
        db.routes.insert({"paths": ["/"], "service": {"name": "missing"}})
    assert db.routes.count(service=svc["id"]) == 1


def test_failing_write_leaves_nothing(db):
    with pytest.raises(SchemaViolation):
        db.services.insert({"host": "bad host"})
    assert db.events.latest() == 0


def test_failing_transaction_rolls_back(db):
    # Cassandra too: its write unit sends nothing before the unit ends.
    with pytest.raises(RuntimeError):
        with db.strategy.transaction():
            db.services.insert({"name": "tx", "host": "x"})
            raise RuntimeError("boom")
    assert db.services.select_by_key("tx") is None
    assert db.events.latest() == 0


def test_pagination_tokens(db):
    ids = sorted(db.services.insert({"host": f"h{i}"})["id"] for i in range(5))
    rows, token = db.services.page(2)
    rows2, token2 = db.services.page(2, token)
    rows3, token3 = db.services.page(2, token2)
    assert len(rows) == len(rows2) == 2 and token and token2 and token3 is None
    assert sorted(r["id"] for r in rows + rows2 + rows3) == ids
    assert sorted(r["id"] for r in db.services.each()) == ids
    # A full last page has no offset either.
    assert db.services.page(1, db.services.page(4)[1]) == (db.services.page(5)[0][4:], None)
    if db.database != "cassandra":  # SQL stores page by id; Cassandra by paging state
        assert [r["id"] for r in rows + rows2 + rows3] == ids
        assert paging.decode_offset(token) == [ids[1]]


def test_page_errors(db):
    with pytest.raises(InvalidSize, match="between 1 and 1000"):
        db.services.page(0)
    with pytest.raises(InvalidSize, match="must be a number"):
        db.services.page("abc")
    with pytest.raises(InvalidOffset) as info:
        db.services.page(1, "!!!")
    assert info.value.message == "'!!!' is not a valid offset: bad base64 encoding"


def test_tags_and_or(db):
    a = db.services.insert({"host": "a", "tags": ["x", "y"]})
    b = db.services.insert({"host": "b", "tags": ["x"]})
    c = db.services.insert({"host": "c", "tags": ["z"]})
    assert {r["id"] for r in db.services.page(tags=["x", "y"])[0]} == {a["id"]}
    assert {r["id"] for r in db.services.page(tags=["y", "z"], tags_any=True)[0]} == \
        {a["id"], c["id"]}
    assert {r["id"] for r in db.services.page(tags=["x"])[0]} == {a["id"], b["id"]}
    rows, _ = db.tags.page()
    assert {(r["tag"], r["entity_id"]) for r in rows} == {
        ("x", a["id"]), ("y", a["id"]), ("x", b["id"]), ("z", c["id"])}
    db.services.delete(a["id"])
    assert len(db.tags.page(tag="x")[0]) == 1


def test_parse_tags():
    assert paging.parse_tags("a,b") == (["a", "b"], False)
    assert paging.parse_tags("a/b") == (["a", "b"], True)
    with pytest.raises(InvalidOptions, match="invalid filter syntax"):
        paging.parse_tags("a,b/c")
    with pytest.raises(InvalidOptions, match="cannot query more than 5 tags"):
        paging.parse_tags("a,b,c,d,e,f")


def test_concurrent_writers(backend, db):
    first = db
    errors = []

    def work(n):
        handle = kongpy.db.open(backend)
        try:
            for i in range(10):
                handle.services.insert({"host": f"h{n}-{i}"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            handle.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert first.events.latest() == 40
    assert len(list(first.services.each())) == 40


def test_ttl_rows_are_readable_until_they_expire(db):
    """Written late in a second, a ttl row stays readable for its whole ttl
    (Cassandra counts a native TTL from the truncated current second)."""
    bob = db.consumers.insert({"username": "bob"})
    time.sleep((0.9 - time.time() % 1) % 1)
    written = time.time()
    db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k", "ttl": 2})
    inserted = time.time()
    time.sleep(max(0.0, written + 1.5 - time.time()))
    row = db.keyauth_credentials.select_by_key("k")
    assert row is not None and row["ttl"] == 1
    time.sleep(max(0.0, inserted + 2.05 - time.time()))
    assert db.keyauth_credentials.select_by_key("k") is None
