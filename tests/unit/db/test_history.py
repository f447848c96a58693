"""The configuration history on every datastore: versions, bounding, diff, rollback."""
from kongpy.db import history as store
from kongpy.declarative import diff, export, history
from kongpy.declarative.recorder import Recorder


def _service(db, name, path="/a"):
    svc = db.daos["services"].insert({"name": name, "url": "http://127.0.0.1:9/"})
    db.daos["routes"].insert({"name": f"{name}-r", "paths": [path], "service": {"id": svc["id"]}})
    return svc


def test_versions_count_up_with_origin_and_summary(db):
    assert history.record(db, "cli", 100) is not None  # the empty configuration
    svc = _service(db, "one")
    first = history.record(db, "node-a", 100)
    assert (first["version"], first["origin"]) == (2, "node-a")
    assert first["summary"] == {"services": {"created": 1, "updated": 0, "deleted": 0},
                                "routes": {"created": 1, "updated": 0, "deleted": 0}}
    assert first["event_version"] == db.events.latest()
    # nothing changed: no new version
    assert history.record(db, "node-a", 100) is None
    db.daos["services"].update(svc["id"], {"retries": 2})
    db.daos["routes"].delete(db.daos["routes"].select_by("name", "one-r")["id"])
    second = history.record(db, "deployer", 100)
    assert second["version"] == 3
    assert second["summary"] == {"services": {"created": 0, "updated": 1, "deleted": 0},
                                 "routes": {"created": 0, "updated": 0, "deleted": 1}}
    listed = store.entries(db.strategy)
    assert [r["version"] for r in listed] == [3, 2, 1]
    assert [r["origin"] for r in listed] == ["deployer", "node-a", "cli"]
    doc = history.document(db, 2)
    assert doc["_format_version"] == "3.0"
    assert [r["name"] for r in doc["routes"]] == ["one-r"]
    assert doc["services"][0]["retries"] == 5


def test_a_row_written_again_unchanged_is_no_change(db):
    # the same values written again seconds later (an import run twice) only
    # move updated_at: no change, hence no version
    svc = _service(db, "same")
    before = export.export(db)
    after = export.export(db)
    for row in after["services"]:
        row["updated_at"] += 5
    assert diff.changes(before, after) == {}
    after["services"][0]["retries"] = 1
    assert diff.summary(diff.changes(before, after)) == {
        "services": {"created": 0, "updated": 1, "deleted": 0}}
    assert after["services"][0]["id"] == svc["id"]


def test_history_is_bounded(db):
    for i in range(5):
        _service(db, f"s{i}", f"/p{i}")
        history.record(db, "cli", 3)
    assert [r["version"] for r in store.entries(db.strategy)] == [5, 4, 3]
    assert history.document(db, 3) is not None
    assert store.document(db.strategy, 2) is None
    # the numbering goes on after trimming
    _service(db, "s5", "/p5")
    assert history.record(db, "cli", 3)["version"] == 6
    assert len(store.entries(db.strategy)) == 3
    # size 0: the history is off
    _service(db, "s6", "/p6")
    assert history.record(db, "cli", 0) is None


def test_diff_shape(db):
    svc = _service(db, "one")
    history.record(db, "cli", 100)
    db.daos["services"].update(svc["id"], {"retries": 2, "path": "/x"})
    other = db.daos["services"].insert({"name": "two", "url": "http://127.0.0.1:8/"})
    db.daos["routes"].delete(db.daos["routes"].select_by("name", "one-r")["id"])
    history.record(db, "cli", 100)
    found = history.compare(db, 2)
    assert (found["from"], found["to"]) == (1, 2)
    assert found["summary"] == {"services": {"created": 1, "updated": 1, "deleted": 0},
                                "routes": {"created": 0, "updated": 0, "deleted": 1}}
    services = found["changes"]["services"]
    assert [(a["id"], a["name"]) for a in services["added"]] == [(other["id"], "two")]
    assert services["added"][0]["entity"]["host"] == "127.0.0.1"
    assert services["removed"] == []
    [changed] = services["changed"]
    assert (changed["id"], changed["name"]) == (svc["id"], "one")
    assert changed["fields"]["retries"] == {"old": 5, "new": 2}
    assert changed["fields"]["path"] == {"old": "/", "new": "/x"}
    assert set(changed["fields"]) <= {"retries", "path", "updated_at"}
    [removed] = found["changes"]["routes"]["removed"]
    assert removed["name"] == "one-r" and removed["entity"]["paths"] == ["/a"]
    # the other way round
    back = history.compare(db, 1, against=2)
    assert back["summary"]["services"] == {"created": 0, "updated": 1, "deleted": 1}
    assert diff.diff(None, None, 0, 0)["changes"] == {}


def test_rollback_restores_and_records(db):
    svc = _service(db, "one")
    history.record(db, "cli", 100)
    db.daos["services"].update(svc["id"], {"retries": 1})
    _service(db, "two", "/b")
    db.daos["routes"].delete(db.daos["routes"].select_by("name", "one-r")["id"])
    history.record(db, "cli", 100)
    before = db.events.latest()
    meta = history.rollback(db, 1, "cli", 100)
    assert (meta["version"], meta["rollback_of"]) == (3, 1)
    # only what the rollback changed: rows already as version 1 holds them stay
    assert meta["summary"] == {"services": {"created": 0, "updated": 1, "deleted": 1},
                               "routes": {"created": 1, "updated": 0, "deleted": 1}}
    assert db.events.latest() > before  # running nodes follow the events
    assert [s["name"] for s in db.daos["services"].each()] == ["one"]
    assert db.daos["services"].select(svc["id"])["retries"] == 5
    # with the history off, a rollback is still recorded and trims nothing
    assert history.rollback(db, 2, "cli", 0)["version"] == 4
    assert [e["version"] for e in store.entries(db.strategy)] == [4, 3, 2, 1]
    assert history.rollback(db, 3, "cli", 100)["version"] == 5
    assert [r["name"] for r in db.daos["routes"].each()] == ["one-r"]
    assert history.compare(db, 3, against=1)["summary"].keys() <= {"services", "routes"}
    for change in history.compare(db, 3, against=1)["changes"].values():
        assert change["added"] == [] and change["removed"] == []
        for item in change["changed"]:
            assert set(item["fields"]) <= {"updated_at", "created_at"}


def test_unknown_version(db):
    import pytest
    with pytest.raises(history.HistoryNotFound):
        history.document(db, 7)
    with pytest.raises(history.HistoryNotFound):
        history.rollback(db, 7, "cli", 100)


def test_recorder_covers_every_mark(db):
    recorder = Recorder(db, 100)
    for origin in ("a", "b", "c"):
        _service(db, f"svc-{origin}", f"/{origin}")
        recorder.mark(origin)
    recorder.flush()
    listed = store.entries(db.strategy)
    assert 1 <= len(listed) <= 3
    # a write committed while another's export runs may land in that version:
    # no change is lost, and no origin is named twice
    origins = [o for e in listed for o in e["origin"].split(", ")]
    assert origins and len(origins) == len(set(origins)) and set(origins) <= {"a", "b", "c"}
    assert listed[-1]["origin"].startswith("a")
    assert sum(e["summary"].get("services", {}).get("created", 0) for e in listed) == 3
    assert history.document(db, listed[0]["version"]) == export.export(db)
    # history off: nothing recorded, no thread
    Recorder(db, 0).mark("d")
    assert len(store.entries(db.strategy)) == len(listed)
