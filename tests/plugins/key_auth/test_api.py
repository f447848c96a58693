"""key-auth: its credentials through the Admin API and their DAO (auto keys,
ttl expiry, snapshot arrays)."""
from __future__ import annotations

import time

from kongpy.sync import model, snapshot
from tests.helpers.http import admin


def _arrays(running: model.SnapshotModel) -> dict:
    return snapshot.parse(running.encode()[0])[1]


def test_credentials(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    key = api.post("/consumers/bob/key-auth", {})
    assert len(key["key"]) == 32 and key["consumer"] == {"id": bob["id"]}
    assert api.get(f"/consumers/bob/key-auth/{key['key']}") == key
    assert api.get(f"/key-auths/{key['key']}/consumer") == bob
    api.delete("/consumers/bob")
    assert api.get("/key-auths") == {"data": [], "next": None}
    api.get("/consumers/nobody/key-auth", status=404)


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


def test_key_names_errors_per_element(client):
    # Kong shapes an array's errors as an array: each message at its element's index
    api = admin(client)
    bad = "bad header name '{}', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    code, body = api.send("POST", "/plugins", {"name": "key-auth",
                                               "config": {"key_names": ["hello\\world"]}})
    assert (code, body["fields"]) == (400, {"config": {"key_names": [bad.format("hello\\world")]}})
    code, body = api.send("POST", "/plugins", {
        "name": "key-auth", "config": {"key_names": ["apikey", "a b", "ok", "c@d"]}})
    assert (code, body["fields"]) == (400, {"config": {"key_names": [
        None, bad.format("a b"), None, bad.format("c@d")]}})
    assert body["message"].startswith("schema violation (config.key_names: {\n  [2] = ")
