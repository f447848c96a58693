"""Kong 3.9's basic-auth access scenarios (spec/03-plugins/10-basic-auth)
through a real node: header parsing, refusals, consumer headers, anonymous."""
from __future__ import annotations

import base64

import pytest

from tests.helpers.http import basic, proxy

REALM = 'Basic realm="service"'


@pytest.fixture(scope="module")
def ba(gateway, svc):
    gw = gateway
    bob = gw.create("/consumers", {"username": "bob"})
    anon = gw.create("/consumers", {"username": "no-body"})
    for user, password in (("bob", "kong"), ("user123", "password123"),
                           ("user321", "password:123"), ("nl", "two\nlines")):
        gw.create("/consumers/bob/basic-auth", {"username": user, "password": password})
    gw.route("/ba1", {"name": "basic-auth"})
    gw.route("/ba2", {"name": "basic-auth", "config": {"hide_credentials": True}})
    gw.route("/ba3", {"name": "basic-auth", "config": {"anonymous": anon["id"]}})
    gw.route("/ba4", {"name": "basic-auth",
                      "config": {"anonymous": "00000000-0000-4000-8000-000000000001"}})
    gw.route("/ba5", {"name": "basic-auth", "config": {"anonymous": "no-body"}})
    gw.route("/ba6", {"name": "basic-auth", "config": {"realm": "test-realm"}})
    gw.wait_sync()
    return {"bob": bob, "anon": anon}


def _refused(resp, realm=REALM):
    assert resp.status_code == 401, resp.text
    assert resp.json()["message"] == "Unauthorized"
    assert resp.headers["WWW-Authenticate"] == realm


def test_unauthorized(ba, gateway):
    px = proxy(gateway)
    _refused(px.get("/ba1"))
    _refused(px.get("/ba6"), 'Basic realm="test-realm"')
    _refused(px.get("/ba6", headers={"Authorization": basic("bob", "nope")}),
             'Basic realm="test-realm"')
    for headers in ({"Authorization": "foobar"}, {"Proxy-Authorization": "foobar"},
                    {"Authorization": "Basic a29uZw=="},  # password only
                    {"Authorization": "Basic Ym9i"},  # username only
                    {"Authorization": "Basic adXNlcjEyMzpwYXNzd29yZDEyMw=="},  # bad base64
                    {"Authorization": basic("bob", "wrong")},
                    {"Authorization": basic("nobody", "kong")}):
        _refused(px.get("/ba1", headers=headers))


def test_authenticates(ba, gateway):
    px = proxy(gateway)
    assert px.get("/ba1", headers={"Authorization": "Basic Ym9iOmtvbmc="}).status_code == 200
    seen = px.get("/ba1", headers={"Authorization": basic("user123", "password123")}).json()
    assert seen["headers"]["x-consumer-username"] == "bob"
    seen = px.get("/ba1", headers={"Authorization": basic("user321", "password:123")}).json()
    assert seen["headers"]["x-consumer-username"] == "bob"
    assert seen["headers"]["x-credential-identifier"] == "user321"
    assert px.get("/ba1", headers={"Proxy-Authorization": "Basic Ym9iOmtvbmc="}) \
        .status_code == 200
    # an unknown user in Proxy-Authorization: Authorization is tried next
    resp = px.get("/ba1", headers={"Proxy-Authorization": basic("nobody", "x"),
                                   "Authorization": basic("bob", "kong")})
    assert resp.status_code == 200
    # a known one with a wrong password ends it
    resp = px.get("/ba1", headers={"Proxy-Authorization": basic("bob", "x"),
                                   "Authorization": basic("bob", "kong")})
    _refused(resp)


def test_header_parsing_follows_kongs_patterns(ba, gateway):
    px = proxy(gateway)
    # Kong looks for `basic <b64>` anywhere in the value, with or without a space
    token = base64.b64encode(b"bob:kong").decode()
    for value in (f"basic {token}", f"Basic  {token}", f"Basic{token}",
                  f"Foo Basic {token}"):
        assert px.get("/ba1", headers={"Authorization": value}).status_code == 200, value
    # the username is the first run of characters before a colon
    token = base64.b64encode(b":bob:kong").decode()
    assert px.get("/ba1", headers={"Authorization": f"Basic {token}"}).status_code == 200
    # the password stops at a line break
    _refused(px.get("/ba1", headers={"Authorization": basic("nl", "two\nlines")}))


def test_consumer_headers_and_hide_credentials(ba, gateway):
    px = proxy(gateway)
    seen = px.get("/ba1", headers={"Authorization": "Basic Ym9iOmtvbmc=",
                                   "X-Consumer-Custom-ID": "spoof"}).json()["headers"]
    assert seen["x-consumer-id"] == ba["bob"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-credential-identifier"] == "bob"
    assert "x-consumer-custom-id" not in seen and "x-anonymous-consumer" not in seen
    assert seen["authorization"] == "Basic Ym9iOmtvbmc="
    seen = px.get("/ba2", headers={"Authorization": "Basic Ym9iOmtvbmc="}).json()["headers"]
    assert "authorization" not in seen
    seen = px.get("/ba2", headers={"Proxy-Authorization": "Basic Ym9iOmtvbmc="}).json()
    assert "proxy-authorization" not in seen["headers"]


def test_anonymous(ba, gateway):
    px = proxy(gateway)
    seen = px.get("/ba3", headers={"Authorization": basic("user123", "password123")}).json()
    assert seen["headers"]["x-consumer-username"] == "bob"
    assert "x-anonymous-consumer" not in seen["headers"]
    for path in ("/ba3", "/ba5"):
        seen = px.get(path).json()["headers"]
        assert seen["x-anonymous-consumer"] == "true"
        assert seen["x-consumer-username"] == "no-body"
    seen = px.get("/ba3", headers={"Authorization": basic("bob", "wrong")}).json()["headers"]
    assert seen["x-consumer-id"] == ba["anon"]["id"]
    assert px.get("/ba4").status_code == 500
