"""session through a real node (two workers): key-auth logs a consumer in,
the session cookie authenticates the next requests, logout, tampering,
timeouts, split cookies; the cookie is decoded here independently
(lua-resty-session 4's layout, AES-256-GCM, HKDF-SHA256, HMAC-SHA256)."""
from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy
from tests.helpers.sessions import (cookie_header, cookie_values, decode, session_conf,
                                    set_cookies, wait_age)

FIXTURE_PLUGINS = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"
KEY_AUTH = {"name": "key-auth", "config": {"anonymous": "anon"}}


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(plugins="bundled, groups-probe", plugins_path=str(FIXTURE_PLUGINS))


@pytest.fixture(scope="module")
def routes(gateway, svc):
    gw = gateway
    gw.create("/consumers", {"username": "anon"})
    gw.create("/consumers", {"username": "bob", "custom_id": "bob-custom"})
    key = gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    gw.create("/consumers", {"username": "carol"})
    gw.create("/consumers/carol/key-auth", {"key": "carol-key"})
    gw.route("/s", session_conf(response_headers=["id", "subject", "timeout"],
                                request_headers=["audience", "subject"]), KEY_AUTH)
    gw.route("/other-secret", session_conf(secret="another secret"), KEY_AUTH)
    gw.route("/body-logout", session_conf(read_body_for_logout=True,
                                          logout_methods=["POST", "GET"]), KEY_AUTH)
    gw.route("/idle", session_conf(idling_timeout=3, rolling_timeout=600), KEY_AUTH)
    gw.route("/absolute", session_conf(absolute_timeout=2), KEY_AUTH)
    gw.route("/rolling", session_conf(rolling_timeout=6, idling_timeout=0), KEY_AUTH)
    gw.route("/attrs", session_conf(cookie_name="sid", cookie_path="/attrs",
                                    cookie_domain="example.test", cookie_same_site="Default",
                                    cookie_http_only=False, cookie_secure=False,
                                    audience="shop"), KEY_AUTH)
    gw.route("/groups", session_conf(), KEY_AUTH,
             {"name": "groups-probe", "config": {"groups": ["admins", "ops"]}})
    gw.route("/big", session_conf(), KEY_AUTH,
             {"name": "groups-probe",
              "config": {"groups": [f"group-number-{i:04d}" for i in range(200)]}})
    gw.route("/remember", session_conf(remember=True, rolling_timeout=2), KEY_AUTH)
    gw.wait_sync()
    gw.key_id = key["id"]
    return gw


def login(gw, path: str, key: str = "bob-key") -> dict[str, str]:
    resp = proxy(gw).get(path, headers={"apikey": key})
    assert resp.status_code == 200, resp.text
    return cookie_values(resp)


def test_login_then_cookie_authenticates(routes):
    px = proxy(routes)
    resp = px.get("/s", headers={"apikey": "bob-key"})
    assert resp.status_code == 200
    line = set_cookies(resp)["session"]
    assert line.endswith("; Path=/; SameSite=Strict; HttpOnly; Secure")
    value = cookie_values(resp)["session"]
    bob = admin(routes).get("/consumers/bob")
    decoded = decode(value)
    assert decoded["type"] == 1 and decoded["flags"] == 0
    assert decoded["data"] == [[[bob["id"], routes.key_id, None], "default", "bob"]]
    assert abs(decoded["created_at"] - time.time()) < 5
    assert resp.headers["Session-Subject"] == "bob"
    assert resp.headers["Session-Id"] == base64.urlsafe_b64encode(
        decoded["sid"]).decode().rstrip("=")
    assert 890 < int(resp.headers["Session-Timeout"]) <= 900  # the idling timeout
    for _ in range(8):  # both workers, no key
        resp = px.get("/s", headers=cookie_header({"session": value}))
        assert resp.status_code == 200
        seen = resp.json()["headers"]
        assert seen["x-consumer-username"] == "bob"
        assert seen["x-consumer-id"] == bob["id"]
        assert seen["x-consumer-custom-id"] == "bob-custom"
        assert seen["x-credential-identifier"] == routes.key_id
        assert "x-anonymous-consumer" not in seen
        assert seen["session-audience"] == "default"
        assert seen["session-subject"] == "bob"
        assert "session" not in set_cookies(resp)  # nothing new to store
    # without the cookie: the anonymous consumer, and no session for it
    resp = px.get("/s")
    assert resp.json()["headers"]["x-anonymous-consumer"] == "true"
    assert "session" not in set_cookies(resp)
    # the session authenticates first: key-auth (with anonymous) then does
    # nothing, as in Kong, so another key does not change the session
    resp = px.get("/s", headers={"apikey": "carol-key", **cookie_header({"session": value})})
    assert resp.json()["headers"]["x-consumer-username"] == "bob"
    assert "session" not in set_cookies(resp)


def test_tampered_or_foreign_cookie_is_refused(routes):
    px = proxy(routes)
    value = login(routes, "/s")["session"]

    def flip(s: str, i: int) -> str:
        return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]

    for bad in (flip(value, 5), flip(value, 100), flip(value, 120), flip(value, len(value) - 2),
                value[:110], value + "AAAA", "garbage"):
        resp = px.get("/s", headers=cookie_header({"session": bad}))
        assert resp.status_code == 200
        assert resp.json()["headers"]["x-anonymous-consumer"] == "true", bad
    resp = px.get("/other-secret", headers=cookie_header({"session": value}))
    assert resp.json()["headers"]["x-anonymous-consumer"] == "true"


def test_logout(routes):
    px = proxy(routes)
    value = login(routes, "/s")["session"]
    jar = cookie_header({"session": value})
    # GET is not a default logout method; POST without read_body_for_logout
    # does not read the body argument
    resp = px.get("/s?session_logout=true", headers=jar)
    assert resp.json()["headers"]["x-consumer-username"] == "bob"
    resp = px.post("/s", data={"session_logout": "1"}, headers=jar)
    assert resp.json()["headers"]["x-consumer-username"] == "bob"
    for method in ("DELETE", "POST"):
        resp = px.request(method, "/s?session_logout", headers=jar)
        assert resp.status_code == 200
        assert resp.content == b""
        line = set_cookies(resp)["session"]
        assert line.startswith("session=; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0")
    # without a session there is nothing to log out of
    resp = px.request("DELETE", "/s?session_logout")
    assert resp.json()["headers"]["x-anonymous-consumer"] == "true"
    value = login(routes, "/body-logout")["session"]
    jar = cookie_header({"session": value})
    resp = px.post("/body-logout", data={"session_logout": "1"}, headers=jar)
    assert resp.status_code == 200 and resp.content == b""
    assert "Max-Age=0" in set_cookies(resp)["session"]
    resp = px.get("/body-logout?session_logout=1", headers=jar)
    assert resp.content == b""


def test_cookie_attributes_and_audience(routes):
    resp = proxy(routes).get("/attrs", headers={"apikey": "bob-key"})
    line = set_cookies(resp)["sid"]
    assert line.endswith("; Path=/attrs; Domain=example.test")
    assert decode(cookie_values(resp)["sid"])["data"][0][1] == "shop"
    # a cookie of another audience does not authenticate here
    value = login(routes, "/s")["session"]
    resp = proxy(routes).get("/attrs", headers=cookie_header({"sid": value}))
    assert resp.json()["headers"]["x-anonymous-consumer"] == "true"


def test_groups_and_split_cookies(routes):
    px = proxy(routes)
    value = login(routes, "/groups")["session"]
    assert decode(value)["data"][0][0][2] == ["admins", "ops"]
    seen = px.get("/groups", headers=cookie_header({"session": value})).json()["headers"]
    assert seen["x-authenticated-groups"] == "admins, ops"
    resp = px.get("/big", headers={"apikey": "bob-key"})
    lines = set_cookies(resp)
    assert set(lines) == {"session", "session2"}
    assert all(len(line) <= 4096 for line in lines.values())
    values = cookie_values(resp)
    whole = values["session"] + values["session2"]
    assert len(decode(whole)["data"][0][0][2]) == 200
    seen = px.get("/big", headers=cookie_header(values)).json()["headers"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-authenticated-groups"].startswith("group-number-0000, group-number-0001")
    seen = px.get("/big", headers=cookie_header({"session": values["session"]})).json()
    assert seen["headers"]["x-anonymous-consumer"] == "true"


def authenticated(gw, path: str, values: dict[str, str]):
    resp = proxy(gw).get(path, headers=cookie_header(values))
    return resp.json()["headers"].get("x-consumer-username") == "bob", resp


def test_idling_timeout_and_touch(routes):
    first = login(routes, "/idle")
    wait_age(first["session"], 1)
    ok, resp = authenticated(routes, "/idle", first)
    assert ok
    touched = cookie_values(resp)
    assert decode(touched["session"])["sid"] == decode(first["session"])["sid"]
    assert decode(touched["session"])["idling_offset"] >= 1
    wait_age(first["session"], 3)  # 3 s idle for the first cookie, 2 s for the touched one
    assert not authenticated(routes, "/idle", first)[0]
    assert authenticated(routes, "/idle", touched)[0]


def test_absolute_timeout(routes):
    values = login(routes, "/absolute")
    assert authenticated(routes, "/absolute", values)[0]
    wait_age(values["session"], 2)
    assert not authenticated(routes, "/absolute", values)[0]


def test_rolling_timeout_renews(routes):
    first = login(routes, "/rolling")
    wait_age(first["session"], 5)  # past 3/4 of the rolling timeout: renewed
    ok, resp = authenticated(routes, "/rolling", first)
    assert ok
    renewed = cookie_values(resp)["session"]
    old, new = decode(first["session"]), decode(renewed)
    assert new["sid"] != old["sid"]
    assert new["created_at"] == old["created_at"]
    assert new["rolling_offset"] == 5
    wait_age(first["session"], 6)
    assert not authenticated(routes, "/rolling", first)[0]
    assert authenticated(routes, "/rolling", {"session": renewed})[0]


def test_remember_cookie_restores_the_session(routes):
    resp = proxy(routes).get("/remember", headers={"apikey": "bob-key"})
    lines = set_cookies(resp)
    assert "Max-Age=" not in lines["session"]
    assert "; Max-Age=604800" in lines["remember"]
    values = cookie_values(resp)
    assert decode(values["remember"])["flags"] == 2
    wait_age(values["session"], 2)  # the session's rolling timeout passed, not the remember one
    assert not authenticated(routes, "/remember", {"session": values["session"]})[0]
    ok, resp = authenticated(routes, "/remember", values)
    assert ok
    assert "session" in set_cookies(resp)
    resp = proxy(routes).request("DELETE", "/remember?session_logout",
                                 headers=cookie_header(values))
    lines = set_cookies(resp)
    assert "Max-Age=0" in lines["session"] and "Max-Age=0" in lines["remember"]
