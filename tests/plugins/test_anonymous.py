"""Authentication plugins chained on one route with an anonymous fallback
(Kong's logical OR): key-auth and basic-auth through a real node."""
from __future__ import annotations

from tests.helpers.http import basic, proxy


def test_anonymous_chain(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.create("/consumers/bob/basic-auth", {"username": "bob", "password": "pw"})
    anon = gw.create("/consumers", {"username": "anon", "custom_id": "anon-1"})
    gw.route("/chain", {"name": "key-auth", "config": {"anonymous": "anon"}},
             {"name": "basic-auth", "config": {"anonymous": anon["id"]}})
    gw.route("/ghost", {"name": "key-auth", "config": {"anonymous": "ghost"}})
    gw.wait_sync()
    seen = px.get("/chain", headers={"X-Consumer-ID": "spoof"}).json()["headers"]
    assert seen["x-consumer-id"] == anon["id"]
    assert seen["x-consumer-custom-id"] == "anon-1"
    assert seen["x-anonymous-consumer"] == "true"
    assert "x-credential-identifier" not in seen
    seen = px.get("/chain", headers={"Authorization": basic("bob", "pw")}).json()["headers"]
    assert seen["x-consumer-username"] == "bob" and "x-anonymous-consumer" not in seen
    seen = px.get("/chain", headers={"apikey": "bob-key"}).json()["headers"]
    assert seen["x-credential-identifier"] == bob["key"]["id"]
    resp = px.get("/ghost")
    assert resp.status_code == 500
    assert resp.json()["message"] == "anonymous consumer ghost is configured but doesn't exist"
