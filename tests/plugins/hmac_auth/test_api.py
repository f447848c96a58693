"""hmac-auth: its config schema, the hmacauth_credentials DAO and Admin API paths."""
from __future__ import annotations

from kongpy.sync import model
from tests.helpers.http import admin


def test_config_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "hmac-auth"})
    assert plugin["config"] == {
        "hide_credentials": False, "clock_skew": 300, "anonymous": None,
        "validate_request_body": False, "enforce_headers": [],
        "algorithms": ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"],
        "realm": None}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_config_errors(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "hmac-auth", "config": {"clock_skew": 0}}, 400)
    assert body["fields"] == {"config": {"clock_skew": "value must be greater than 0"}}
    body = api.post("/plugins", {"name": "hmac-auth",
                                 "config": {"algorithms": ["hmac-sha1", "md5"]}}, 400)
    assert body["fields"] == {"config": {"algorithms": [
        None, "expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512"]}}
    body = api.post("/plugins", {"name": "hmac-auth",
                                 "config": {"enforce_headers": "date"}}, 400)
    assert body["fields"] == {"config": {"enforce_headers": "expected an array"}}
    api.post("/consumers", {"username": "bob"})
    body = api.post("/plugins", {"name": "hmac-auth", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
    ok = api.post("/plugins", {"name": "hmac-auth", "config": {
        "clock_skew": 0.5, "enforce_headers": ["date"], "algorithms": ["hmac-sha256"],
        "realm": "kong", "hide_credentials": True}})
    assert ok["config"]["clock_skew"] == 0.5 and ok["config"]["realm"] == "kong"


def test_credentials_crud(client, db):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    body = api.post("/consumers/bob/hmac-auth", {}, 400)
    assert body["fields"] == {"username": "required field missing"}
    cred = api.post("/consumers/bob/hmac-auth", {"username": "bob-hmac"})
    assert len(cred["secret"]) == 32 and cred["consumer"] == {"id": bob["id"]}
    assert set(cred) == {"id", "created_at", "consumer", "username", "secret", "tags"}
    given = api.post("/consumers/bob/hmac-auth", {"username": "b2", "secret": "s3cr3t",
                                                  "tags": ["t1"]})
    assert given["secret"] == "s3cr3t" and given["tags"] == ["t1"]
    dup = api.post("/consumers/bob/hmac-auth", {"username": "bob-hmac"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{username=\"bob-hmac\"}'"
    assert api.get("/consumers/bob/hmac-auth/bob-hmac") == cred
    assert api.get(f"/consumers/bob/hmac-auth/{cred['id']}") == cred
    assert api.get("/hmac-auths/bob-hmac") == cred
    assert api.get("/hmac-auths/bob-hmac/consumer") == bob
    listed = api.get("/hmac-auths")["data"]
    assert sorted(c["username"] for c in listed) == ["b2", "bob-hmac"]
    patched = api.patch("/hmac-auths/bob-hmac", {"tags": ["x"]})
    assert patched["secret"] == cred["secret"] and patched["tags"] == ["x"]
    snap = model.document(db)
    assert sorted(c["username"] for c in snap["hmacauth_credentials"]) == ["b2", "bob-hmac"]
    api.delete("/consumers/bob/hmac-auth/b2")
    api.delete("/consumers/bob")
    assert api.get("/hmac-auths") == {"data": [], "next": None}


def test_schema_endpoint(client):
    schema = admin(client).get("/schemas/plugins/hmac-auth")
    config = [fld for fld in schema["fields"] if "config" in fld][0]["config"]
    names = [list(fld)[0] for fld in config["fields"]]
    assert names == ["hide_credentials", "clock_skew", "anonymous", "validate_request_body",
                     "enforce_headers", "algorithms", "realm"]
