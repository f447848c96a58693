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
