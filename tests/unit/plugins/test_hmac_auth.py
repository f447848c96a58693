"""hmac-auth: its config schema, the hmacauth_credentials DAO and Admin API paths."""
from __future__ import annotations

from kongpy.sync import model


def _post(client, path, body, status=201):
    resp = client.post(path, json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_config_defaults(client):
    plugin = _post(client, "/plugins", {"name": "hmac-auth"})
    assert plugin["config"] == {
        "hide_credentials": False, "clock_skew": 300, "anonymous": None,
        "validate_request_body": False, "enforce_headers": [],
        "algorithms": ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"],
        "realm": None}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_config_errors(client):
    body = _post(client, "/plugins", {"name": "hmac-auth", "config": {"clock_skew": 0}}, 400)
    assert body["fields"] == {"config": {"clock_skew": "value must be greater than 0"}}
    body = _post(client, "/plugins", {"name": "hmac-auth",
                                      "config": {"algorithms": ["hmac-sha1", "md5"]}}, 400)
    assert body["fields"] == {"config": {"algorithms": [
        None, "expected one of: hmac-sha1, hmac-sha256, hmac-sha384, hmac-sha512"]}}
    body = _post(client, "/plugins", {"name": "hmac-auth",
                                      "config": {"enforce_headers": "date"}}, 400)
    assert body["fields"] == {"config": {"enforce_headers": "expected an array"}}
    _post(client, "/consumers", {"username": "bob"})
    body = _post(client, "/plugins", {"name": "hmac-auth", "consumer": {"username": "bob"}},
                 400)
    assert body["fields"] == {"consumer": "value must be null"}
    ok = _post(client, "/plugins", {"name": "hmac-auth", "config": {
        "clock_skew": 0.5, "enforce_headers": ["date"], "algorithms": ["hmac-sha256"],
        "realm": "kong", "hide_credentials": True}})
    assert ok["config"]["clock_skew"] == 0.5 and ok["config"]["realm"] == "kong"


def test_credentials_crud(client, db):
    bob = _post(client, "/consumers", {"username": "bob"})
    body = _post(client, "/consumers/bob/hmac-auth", {}, 400)
    assert body["fields"] == {"username": "required field missing"}
    cred = _post(client, "/consumers/bob/hmac-auth", {"username": "bob-hmac"})
    assert len(cred["secret"]) == 32 and cred["consumer"] == {"id": bob["id"]}
    assert set(cred) == {"id", "created_at", "consumer", "username", "secret", "tags"}
    given = _post(client, "/consumers/bob/hmac-auth", {"username": "b2", "secret": "s3cr3t",
                                                       "tags": ["t1"]})
    assert given["secret"] == "s3cr3t" and given["tags"] == ["t1"]
    dup = _post(client, "/consumers/bob/hmac-auth", {"username": "bob-hmac"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{username=\"bob-hmac\"}'"
    assert client.get("/consumers/bob/hmac-auth/bob-hmac").get_json() == cred
    assert client.get(f"/consumers/bob/hmac-auth/{cred['id']}").get_json() == cred
    assert client.get("/hmac-auths/bob-hmac").get_json() == cred
    assert client.get("/hmac-auths/bob-hmac/consumer").get_json() == bob
    listed = client.get("/hmac-auths").get_json()["data"]
    assert sorted(c["username"] for c in listed) == ["b2", "bob-hmac"]
    patched = client.patch("/hmac-auths/bob-hmac", json={"tags": ["x"]}).get_json()
    assert patched["secret"] == cred["secret"] and patched["tags"] == ["x"]
    snap = model.document(db)
    assert sorted(c["username"] for c in snap["hmacauth_credentials"]) == ["b2", "bob-hmac"]
    assert client.delete("/consumers/bob/hmac-auth/b2").status_code == 204
    assert client.delete("/consumers/bob").status_code == 204
    assert client.get("/hmac-auths").get_json() == {"data": [], "next": None}


def test_schema_endpoint(client):
    schema = client.get("/schemas/plugins/hmac-auth").get_json()
    config = [fld for fld in schema["fields"] if "config" in fld][0]["config"]
    names = [list(fld)[0] for fld in config["fields"]]
    assert names == ["hide_credentials", "clock_skew", "anonymous", "validate_request_body",
                     "enforce_headers", "algorithms", "realm"]
