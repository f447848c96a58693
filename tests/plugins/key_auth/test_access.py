"""key-auth through a real node: Kong 3.9's messages, headers and key lookup."""
from __future__ import annotations

import http.client
import json
import time

from tests.helpers.http import admin, proxy


def test_key_auth_errors_and_success(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka", {"name": "key-auth"})
    gw.route("/ka-realm", {"name": "key-auth", "config": {"realm": "kong"}})
    gw.wait_sync()
    resp = px.get("/ka")
    assert resp.status_code == 401
    assert resp.json()["message"] == "No API key found in request"
    assert resp.headers["WWW-Authenticate"] == "Key"
    resp = px.get("/ka-realm", headers={"apikey": "nope"})
    assert (resp.status_code, resp.json()["message"]) == (401, "Unauthorized")
    assert resp.headers["WWW-Authenticate"] == 'Key realm="kong"'
    resp = px.get("/ka?apikey=a&apikey=b")
    assert resp.json()["message"] == "Duplicate API key found"
    # a repeated header, whatever the case of its name
    conn = http.client.HTTPConnection("127.0.0.1", gw.ports["proxy"], timeout=5)
    conn.putrequest("GET", "/ka")
    conn.putheader("apikey", "bob-key")
    conn.putheader("ApiKey", "other")
    conn.endheaders()
    dup = conn.getresponse()
    assert (dup.status, json.loads(dup.read())["message"]) == (401, "Duplicate API key found")
    conn.close()
    resp = px.get("/ka?apikey=bob-key", headers={"APIKEY": "nope"})
    assert resp.status_code == 401  # a header key wins over the query string
    resp = px.get("/ka", headers={"apikey": "bob-key", "X-Consumer-Custom-ID": "spoof",
                                  "X-Consumer-Username": "evil",
                                  "X-Anonymous-Consumer": "true"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-id"] == bob["consumer"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-credential-identifier"] == bob["key"]["id"]
    assert "x-consumer-custom-id" not in seen and "x-anonymous-consumer" not in seen
    assert seen["apikey"] == "bob-key"  # hide_credentials is off
    resp = px.get("/ka?apikey=bob-key")
    assert resp.status_code == 200


def test_key_auth_hides_credentials(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-hide", {"name": "key-auth", "config": {"hide_credentials": True}})
    gw.wait_sync()
    seen = px.get("/ka-hide/x?apikey=bob-key&keep=1").json()
    assert seen["path"] == "/x?keep=1"
    seen = px.get("/ka-hide", headers={"apikey": "bob-key"}).json()
    assert "apikey" not in seen["headers"]


def test_credential_revocation_and_ttl(gateway, svc, bob):
    gw, px, api = gateway, proxy(gateway), admin(gateway)
    gw.route("/revoke", {"name": "key-auth"})
    api.post("/consumers/bob/key-auth", {"key": "short-lived"})
    api.post("/consumers/bob/key-auth", {"key": "ttl-key", "ttl": 2})
    gw.wait_sync()
    assert px.get("/revoke", headers={"apikey": "short-lived"}).status_code == 200
    assert px.get("/revoke", headers={"apikey": "ttl-key"}).status_code == 200
    api.delete("/key-auths/short-lived")
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = px.get("/revoke", headers={"apikey": "short-lived"}).status_code
    assert status == 401
    # Expired without a new push: the data plane stops honouring it by itself.
    time.sleep(2.2)
    assert px.get("/revoke", headers={"apikey": "ttl-key"}).status_code == 401
    keys = api.get("/consumers/bob/key-auth")["data"]
    assert "ttl-key" not in [k["key"] for k in keys]
