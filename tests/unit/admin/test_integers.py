"""Fields whose schema says integer come back as JSON integers (``5``, never
``5.0``), on every datastore, after a create and after a PATCH."""
from __future__ import annotations

import json

from tests.helpers.http import admin


def _raw(client, method: str, path: str, body=None, status: int = 200) -> dict:
    resp = client.open(path, method=method, json=body)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return json.loads(resp.get_data(as_text=True), parse_float=lambda s: ("float", s))


def _floats(value, where: str = "") -> list[str]:
    if isinstance(value, tuple):
        return [f"{where}={value[1]}"]
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _floats(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _floats(v, f"{where}[{i}]")]
    return []


def test_integer_fields_stay_integers(client):
    plugins = [
        {"name": "rate-limiting", "config": {"minute": 5.0, "hour": 100, "policy": "local"}},
        {"name": "response-ratelimiting",
         # large integers come back whole from the Lua schema's JSON too
         "config": {"limits": {"video": {"minute": 5.0, "hour": 20, "year": 2 ** 53}}}},
        {"name": "request-size-limiting", "config": {"allowed_payload_size": 5.0}},
        {"name": "jwt", "config": {"maximum_expiration": 60.0}},
    ]
    for body in plugins:
        created = _raw(client, "POST", "/plugins", body, 201)
        assert _floats(created) == [], body["name"]
        fetched = _raw(client, "GET", f"/plugins/{created['id']}")
        assert _floats(fetched) == [] and fetched["config"] == created["config"], body["name"]
    limits = [p for p in admin(client).get("/plugins")["data"]
              if p["name"] == "response-ratelimiting"][0]["config"]["limits"]
    assert limits["video"]["year"] == 2 ** 53
    rl = [p for p in admin(client).get("/plugins")["data"] if p["name"] == "rate-limiting"][0]
    patched = _raw(client, "PATCH", f"/plugins/{rl['id']}", {"config": {"minute": 7.0}})
    assert _floats(patched) == [] and patched["config"]["minute"] == 7
    assert _floats(_raw(client, "GET", "/plugins")) == []
    svc = _raw(client, "POST", "/services",
               {"name": "s", "url": "http://x", "retries": 3.0, "connect_timeout": 1000.0}, 201)
    assert _floats(svc) == []
    assert _floats(_raw(client, "PATCH", "/services/s", {"read_timeout": 5000.0})) == []
    route = _raw(client, "POST", "/services/s/routes",
                 {"name": "r", "paths": ["/r"], "regex_priority": 2.0,
                  "https_redirect_status_code": 308.0}, 201)
    assert _floats(route) == []
    assert _floats(_raw(client, "GET", "/routes/r")) == []
    _raw(client, "POST", "/consumers", {"username": "bob"}, 201)
    key = _raw(client, "POST", "/consumers/bob/key-auth", {"ttl": 100.0}, 201)
    assert _floats(key) == [] and key["ttl"] == 100
    assert _floats(_raw(client, "GET", f"/key-auths/{key['id']}")) == []


def test_integers_no_column_holds_are_schema_violations(client):
    """Beyond 64 bits (Lua numbers go further): a 400 naming the field on
    every datastore, never a failed write; a field's own bounds speak first."""
    too_big = "value should be between -9223372036854775808 and 9223372036854775807"

    def refused(method: str, path: str, body: dict) -> dict:
        resp = client.open(path, method=method, json=body)
        assert resp.status_code == 400, resp.get_data(as_text=True)
        return resp.get_json()["fields"]

    assert refused("PUT", "/consumers/big", {"created_at": 2 ** 70}) == {"created_at": too_big}
    assert refused("POST", "/consumers", {"username": "x", "created_at": -2 ** 64}) == \
        {"created_at": too_big}
    assert refused("POST", "/services", {"host": "h", "updated_at": 1e300}) == \
        {"updated_at": too_big}
    assert refused("POST", "/services", {"host": "h", "retries": 2 ** 70}) == \
        {"retries": "value should be between 0 and 32767"}
    # entities a plugin's daos.lua owns: validated in Lua, stored in columns
    _raw(client, "POST", "/consumers", {"username": "u"}, 201)
    cred = _raw(client, "POST", "/consumers/u/oauth2",
                {"name": "app", "redirect_uris": ["https://example.test/"]}, 201)
    token = {"credential": {"id": cred["id"]}}
    assert refused("POST", "/oauth2_tokens", {**token, "expires_in": 2 ** 70}) == \
        {"expires_in": too_big}
    assert refused("POST", "/consumers/u/key-auth", {"key": "k", "created_at": 2 ** 70}) == \
        {"created_at": too_big}
    # the largest value every column holds is stored and read back whole
    ok = _raw(client, "POST", "/consumers", {"username": "edge", "created_at": 2 ** 63 - 1}, 201)
    assert _raw(client, "GET", f"/consumers/{ok['id']}")["created_at"] == 2 ** 63 - 1
    assert admin(client).get("/consumers/big", status=404) is not None
