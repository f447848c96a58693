"""Credential DAOs: auto keys, ttl expiry, snapshot arrays (basic-auth: test_basic_auth.py)."""
from __future__ import annotations

import time

from kongpy.sync import model, snapshot


def _arrays(running: model.SnapshotModel) -> dict:
    return snapshot.parse(running.encode()[0])[1]


def test_keyauth_ttl(db):
    bob = db.consumers.insert({"username": "bob"})
    live = db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "live"})
    short = db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "short",
                                           "ttl": 1})
    assert short["ttl"] == 1 and live["ttl"] is None
    running = model.SnapshotModel()  # the sync loop's model, kept current
    running.sync(db)
    by_key = {c["key"]: c for c in _arrays(running)["keyauth_credentials"]}
    assert "expires_at" in by_key["short"] and "expires_at" not in by_key["live"]
    time.sleep(1.1)
    assert db.keyauth_credentials.select_by_key("short") is None
    assert [c["key"] for c in db.keyauth_credentials.each()] == ["live"]
    # a model loaded now leaves it out; the running one still ships it until
    # its next full load, with an expiry the data plane honours on its own
    assert [c["key"] for c in model.document(db)["keyauth_credentials"]] == ["live"]
    running.sync(db)
    kept = {c["key"]: c for c in _arrays(running)["keyauth_credentials"]}
    assert kept["short"]["expires_at"] <= time.time()
    # the expired key's unique value is free again
    db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "short"})


def test_snapshot_holds_enabled_plugins_only(db):
    db.plugins.insert({"name": "key-auth"})
    db.plugins.insert({"name": "acl", "config": {"allow": ["a"]}, "enabled": False})
    snap = model.document(db)
    assert [p["name"] for p in snap["plugins"]] == ["key-auth"]
    for name in ("consumers", "keyauth_credentials", "basicauth_credentials", "acls"):
        assert snap[name] == []
