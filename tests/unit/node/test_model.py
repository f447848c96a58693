"""The in-memory configuration model follows the datastore through events."""
from __future__ import annotations

import json

import pytest

from kongpy import conf
from kongpy.sync import snapshot
from kongpy.sync.model import ConfigModel


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


def _decoded(model: ConfigModel) -> dict:
    body, digest = model.encode()
    doc = json.loads(body)
    assert doc["hash"] == digest
    return doc


def test_model_matches_a_full_build_after_each_change(database):
    model = ConfigModel()
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
    full = snapshot.build(database)
    assert doc["version"] == full["version"]
    assert _as_sets(doc) == _as_sets(full)

    # A cascade (consumer → credentials) reaches the model through the
    # children's own events.
    database.consumers.delete(bob["id"])
    model.sync(database)
    doc = _decoded(model)
    assert doc["consumers"] == [] and doc["keyauth_credentials"] == []
    assert _as_sets(doc) == _as_sets(snapshot.build(database))


def test_unchanged_model_encodes_identically_and_changes_move_the_hash(database):
    model = ConfigModel()
    model.sync(database)
    first = model.encode()
    model.sync(database)
    assert model.encode() == first
    database.services.insert({"name": "s2", "host": "b.test"})
    model.sync(database)
    assert model.encode()[1] != first[1]


def test_full_reload_when_history_is_unreadable(database):
    model = ConfigModel()
    model.sync(database)
    database.append_event("invalidations", "not an entity change")
    database.services.insert({"name": "s3", "host": "c.test"})
    model.sync(database)
    doc = _decoded(model)
    assert [s["name"] for s in doc["services"]] == ["s3"]
    assert doc["version"] == database.events.latest()
