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


def test_key_auth_reads_header_names_with_underscores(gateway, svc, bob):
    # Kong runs with underscores_in_headers on: `api_key: ...` is a header
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-underscore", {"name": "key-auth",
                                "config": {"key_names": ["api_key"],
                                           "hide_credentials": True}})
    gw.route("/ka-underscore-seen", {"name": "key-auth", "config": {"key_names": ["api_key"]}})
    gw.wait_sync()
    resp = px.get("/ka-underscore", headers={"api_key": "bob-key"})
    assert resp.status_code == 200, resp.text
    assert "api_key" not in resp.json()["headers"]
    resp = px.get("/ka-underscore-seen", headers={"api_key": "bob-key", "x_other": "1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["headers"]["api_key"] == "bob-key"
    assert resp.json()["headers"]["x_other"] == "1"
    # as Kong's get_headers(): the exact name first, then with dashes
    resp = px.get("/ka-underscore-seen", headers={"api-key": "bob-key"})
    assert resp.status_code == 200, resp.text
    resp = px.get("/ka-underscore-seen", headers={"api_key": "bob-key", "api-key": "nope"})
    assert resp.status_code == 200, resp.text


def test_key_auth_hide_credentials_keeps_query_order_and_body_type(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-hide-body", {"name": "key-auth",
                               "config": {"hide_credentials": True, "key_in_body": True}})
    gw.wait_sync()
    # only the key leaves the query string; the rest keeps its order and bytes
    seen = px.get("/ka-hide-body/x?z=1&apikey=bob-key&a=2&m=%20x&z=3").json()
    assert seen["path"] == "/x?z=1&a=2&m=%20x&z=3"
    # a form is re-encoded as a form (Kong's encoder sorts the arguments)
    seen = px.post("/ka-hide-body", data={"b": "1", "apikey": "bob-key", "a": "2"}).json()
    assert seen["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert seen["body"] == "a=2&b=1"
    # a multipart body stays multipart, the key's part removed, the others kept
    resp = px.post("/ka-hide-body", files={"b": (None, "one"), "apikey": (None, "bob-key"),
                                           "a": (None, "two")})
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    ctype = seen["headers"]["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    boundary = ctype.split("boundary=", 1)[1]
    assert f"--{boundary}\r\n" in seen["body"]
    assert 'name="b"\r\n\r\none\r\n' in seen["body"]
    assert 'name="a"\r\n\r\ntwo\r\n' in seen["body"]
    assert "apikey" not in seen["body"] and "bob-key" not in seen["body"]
