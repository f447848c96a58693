"""The in-memory configuration model follows the datastore through events."""
from __future__ import annotations

import pytest

from kongpy import conf
from kongpy.sync import model as model_module, snapshot
from kongpy.sync.model import SnapshotModel


@pytest.fixture
def database(make_conf):
    from kongpy import db

    handle = db.open(conf.load(make_conf(), env={}))
    handle.migrations.bootstrap()
    yield handle
    handle.close()


def _as_sets(doc: dict) -> dict:
    """Entity arrays as {name: {id: row}}, whatever their order."""
    return {k: {row["id"]: row for row in v} for k, v in doc.items()
            if isinstance(v, list)}


def _decoded(model: SnapshotModel) -> dict:
    blob, digest = model.encode()
    header, body = snapshot.parse(blob)
    assert header["hash"] == digest
    return {**header, **body}


def test_model_matches_a_full_build_after_each_change(database):
    model = SnapshotModel()
    model.sync(database)
    assert _decoded(model)["version"] == database.events.latest()

    svc = database.services.insert({"name": "s", "host": "a.test"})
    route = database.routes.insert({"paths": ["/a"], "service": {"id": svc["id"]}})
    bob = database.consumers.insert({"username": "bob"})
    database.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k1"})
    database.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k2",
                                         "ttl": 100})
    database.plugins.insert({"name": "key-auth", "route": {"id": route["id"]}})
    database.routes.update(route["id"], {"paths": ["/b"]})
    model.sync(database)
    doc = _decoded(model)
    full = model_module.document(database)  # a fresh model, loaded whole
    assert doc["version"] == full["version"]
    assert _as_sets(doc) == _as_sets(full)

    # A cascade (consumer → credentials) reaches the model through the
    # children's own events.
    database.consumers.delete(bob["id"])
    model.sync(database)
    doc = _decoded(model)
    assert doc["consumers"] == [] and doc["keyauth_credentials"] == []
    assert _as_sets(doc) == _as_sets(model_module.document(database))


def test_unchanged_model_encodes_identically_and_changes_move_the_hash(database):
    model = SnapshotModel()
    model.sync(database)
    first = model.encode()
    model.sync(database)
    assert model.encode() == first
    database.services.insert({"name": "s2", "host": "b.test"})
    model.sync(database)
    assert model.encode()[1] != first[1]


def test_full_reload_when_history_is_unreadable(database):
    model = SnapshotModel()
    model.sync(database)
    database.append_event("invalidations", "not an entity change")
    database.services.insert({"name": "s3", "host": "c.test"})
    model.sync(database)
    doc = _decoded(model)
    assert [s["name"] for s in doc["services"]] == ["s3"]
    assert doc["version"] == database.events.latest()


def test_changes_since_the_settled_version(database):
    model = SnapshotModel()
    model.sync(database)
    # Freshly loaded: the model cannot tell what the data plane lacks.
    assert model.changes_since(model.version, 1000) is None
    model.settle()
    base = model.version
    assert model.changes_since(base, 1000) is None  # nothing changed

    bob = database.consumers.insert({"username": "bob"})
    cred = database.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k1"})
    gone = database.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k2"})
    database.keyauth_credentials.delete(gone["id"])
    model.sync(database)
    changes = model.changes_since(base, 1000)
    assert changes == {
        "consumers": {"upsert": [database.consumers.select(bob["id"])], "delete": []},
        "keyauth_credentials": {
            "upsert": [database.keyauth_credentials.select(cred["id"])],
            "delete": [gone["id"]],
        },
    }
    # Only against the settled version, and only while small enough.
    assert model.changes_since(base - 1, 1000) is None
    assert model.changes_since(base, 2) is None
    assert model.changes_since(base, 3) is not None

    # Changes accumulate until settled.
    database.keyauth_credentials.delete(cred["id"])
    model.sync(database)
    assert model.changes_since(base, 1000)["keyauth_credentials"] == {
        "upsert": [], "delete": sorted([cred["id"], gone["id"]])}
    model.settle()
    assert model.changes_since(base, 1000) is None
    assert model.changes_since(model.version, 1000) is None


def test_delta_applied_to_the_base_gives_the_full_document(database):
    model = SnapshotModel()
    model.sync(database)
    model.settle()
    base_doc = _decoded(model)
    svc = database.services.insert({"name": "s", "host": "a.test"})
    database.plugins.insert({"name": "key-auth", "service": {"id": svc["id"]},
                             "enabled": False})
    database.services.update(svc["id"], {"port": 8080})
    model.sync(database)
    body, digest = model.encode()
    header, changes = snapshot.parse(model.encode_delta(
        base_doc["version"], digest, model.changes_since(base_doc["version"], 1000)))
    delta = {**header, "changes": changes}
    assert delta["base_version"] == base_doc["version"]
    assert delta["version"] == model.version and delta["hash"] == digest
    assert delta["snapshot_format"] == snapshot.SNAPSHOT_FORMAT == 3
    # A disabled plugin instance never reaches the data plane: a delete.
    assert delta["changes"]["plugins"]["upsert"] == []
    rebuilt = _as_sets(base_doc)
    for name, change in delta["changes"].items():
        rows = rebuilt.setdefault(name, {})
        for pk in change["delete"]:
            rows.pop(pk, None)
        rows.update({row["id"]: row for row in change["upsert"]})
    assert rebuilt == _as_sets(snapshot.parse(body)[1])


def test_a_full_reload_forgets_the_changes(database):
    model = SnapshotModel()
    model.sync(database)
    model.settle()
    base = model.version
    database.append_event("invalidations", "not an entity change")
    database.services.insert({"name": "s4", "host": "d.test"})
    model.sync(database)
    assert model.changes_since(base, 1000) is None


def test_header_pieces_cover_every_array(database):
    """Each entity array is the concatenation of the pieces its header lists;
    a piece's tag changes with its bytes and only with them."""
    svc = database.services.insert({"name": "s", "host": "a.test"})
    for i in range(40):
        database.routes.insert({"paths": [f"/p{i}"], "service": {"id": svc["id"]}})
    model = SnapshotModel()
    model.sync(database)
    blob, _ = model.encode()
    line, _, body = blob.partition(b"\n")
    header, doc = snapshot.parse(blob)
    assert set(header["pieces"]) == set(doc)
    tags = {}
    for name, pieces in header["pieces"].items():
        parts = [body[off:off + length] for off, length, _ in pieces]
        assert snapshot.parse(line + b"\n" + b'{"x":[' + b",".join(parts) + b"]}")[1]["x"] \
            == doc[name]
        tags[name] = {tag for _, _, tag in pieces}
    assert len(tags["routes"]) == len(header["pieces"]["routes"]) > 1
    database.routes.insert({"paths": ["/new"], "service": {"id": svc["id"]}})
    model.sync(database)
    header2, _ = snapshot.parse(model.encode()[0])
    after = {tag for _, _, tag in header2["pieces"]["routes"]}
    assert len(after - tags["routes"]) == 1
    assert {tag for _, _, tag in header2["pieces"]["services"]} == tags["services"]
