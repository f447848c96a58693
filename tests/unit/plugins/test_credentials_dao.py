"""Credential DAOs: auto keys, ttl expiry, snapshot arrays (basic-auth: test_basic_auth.py)."""
from __future__ import annotations

import time

from kongpy.sync import snapshot


def test_keyauth_ttl(db):
    bob = db.consumers.insert({"username": "bob"})
    live = db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "live"})
    short = db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "short",
                                           "ttl": 1})
    assert short["ttl"] == 1 and live["ttl"] is None
    snap = snapshot.build(db)
    by_key = {c["key"]: c for c in snap["keyauth_credentials"]}
    assert "expires_at" in by_key["short"] and "expires_at" not in by_key["live"]
    time.sleep(1.1)
    assert db.keyauth_credentials.select_by_key("short") is None
    assert [c["key"] for c in db.keyauth_credentials.each()] == ["live"]
    assert [c["key"] for c in snapshot.build(db)["keyauth_credentials"]] == ["live"]
    # the expired key's unique value is free again
    db.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "short"})


def test_snapshot_holds_enabled_plugins_only(db):
    db.plugins.insert({"name": "key-auth"})
    db.plugins.insert({"name": "acl", "config": {"allow": ["a"]}, "enabled": False})
    snap = snapshot.build(db)
    assert [p["name"] for p in snap["plugins"]] == ["key-auth"]
    for name in ("consumers", "keyauth_credentials", "basicauth_credentials", "acls"):
        assert snap[name] == []
