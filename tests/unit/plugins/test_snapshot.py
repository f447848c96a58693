"""What the snapshot holds of plugins (key-auth's ttl rows: tests/plugins/key_auth)."""
from __future__ import annotations

from kongpy.sync import model


def test_snapshot_holds_enabled_plugins_only(db):
    db.plugins.insert({"name": "key-auth"})
    db.plugins.insert({"name": "acl", "config": {"allow": ["a"]}, "enabled": False})
    snap = model.document(db)
    assert [p["name"] for p in snap["plugins"]] == ["key-auth"]
    for name in ("consumers", "keyauth_credentials", "basicauth_credentials", "acls"):
        assert snap[name] == []
