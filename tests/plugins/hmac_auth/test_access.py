"""hmac-auth through a real node: Kong 3.9's signature scheme, messages and headers."""
from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests

from tests.helpers.http import admin, proxy
from tests.plugins.hmac_auth.signing import DIGESTS, SECRET, authorization, signed
from tests.plugins.hmac_auth.signing import date as http_date

DATE_REQUIRED = ("HMAC signature cannot be verified, a valid date or x-date header is "
                 "required for HMAC Authentication")
NOT_VALID = "HMAC signature cannot be verified"
NOT_SAME = "HMAC signature does not match"


@pytest.fixture(scope="module")
def world(gateway, svc):
    gw = gateway
    bob = gw.create("/consumers", {"username": "bob", "custom_id": "bob-1"})
    anon = gw.create("/consumers", {"username": "anon"})
    gw.create("/consumers/bob/hmac-auth", {"username": "bob-hmac", "secret": SECRET})
    gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    routes = {
        "/hm": {},
        "/hm-realm": {"realm": "kong"},
        "/hm-strict": {"algorithms": ["hmac-sha256"], "clock_skew": 10,
                       "enforce_headers": ["date", "request-line"]},
        "/hm-hide": {"hide_credentials": True},
        "/hm-body": {"validate_request_body": True},
        "/hm-anon": {"anonymous": "anon"},
    }
    gw.add_plugin_routes("svc", "hmac-auth", routes, anonymous=("/hm-anon", anon["id"]))
    gw.wait_sync()
    return {"bob": bob, "anon": anon}


def _assert_401(resp: requests.Response, message: str, www: str = "hmac") -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["message"] == message
    assert resp.headers["WWW-Authenticate"] == www


def test_missing_header_and_date(gateway, world):
    gw = gateway
    _assert_401(proxy(gw).get("/hm"), "Unauthorized")
    _assert_401(proxy(gw).get("/hm-realm"), "Unauthorized", 'hmac realm="kong"')
    undated = signed("GET", "/hm")
    del undated["Date"]
    _assert_401(proxy(gw).get("/hm", headers=undated), DATE_REQUIRED)
    for date in ("yesterday", http_date(-400), http_date(400)):
        headers = {**signed("GET", "/hm"), "Date": date}
        _assert_401(proxy(gw).get("/hm", headers=headers), DATE_REQUIRED)
    _assert_401(proxy(gw).get("/hm-realm", headers={"Authorization": "hmac x"}), DATE_REQUIRED,
                'hmac realm="kong"')
    # X-Date is checked first and may stand in for a bad Date.
    headers = {**signed("GET", "/hm", date_header="X-Date"), "Date": "garbage"}
    assert proxy(gw).get("/hm", headers=headers).status_code == 200


def test_clock_skew(gateway, world):
    gw = gateway
    assert proxy(gw).get("/hm", headers=signed("GET", "/hm", offset=-200)).status_code == 200
    _assert_401(proxy(gw).get("/hm-strict", headers=signed("GET", "/hm-strict", offset=-30)),
                DATE_REQUIRED)
    assert proxy(gw).get("/hm-strict", headers=signed("GET", "/hm-strict", offset=-5)) \
        .status_code == 200


def test_cannot_be_verified(gateway, world):
    gw = gateway
    date = http_date()
    for auth in ("hmac nothing-useful", "Basic Ym9iOnB3",
                 'hmac username="bob-hmac", algorithm="hmac-sha256", headers="date"'):
        _assert_401(proxy(gw).get("/hm", headers={"Date": date, "Authorization": auth}), NOT_VALID)
    _assert_401(proxy(gw).get("/hm", headers=signed("GET", "/hm", username="nobody")), NOT_VALID)
    unknown = signed("GET", "/hm")
    unknown["Authorization"] = unknown["Authorization"].replace("hmac-sha256", "hmac-md5")
    _assert_401(proxy(gw).get("/hm", headers=unknown), NOT_VALID)
    # disallowed algorithm, then an enforced header left out of the signature
    _assert_401(proxy(gw).get("/hm-strict", headers=signed("GET", "/hm-strict", "hmac-sha1")),
                NOT_VALID)
    only_date = {"Date": date, "Authorization": authorization([f"date: {date}"], "date")}
    _assert_401(proxy(gw).get("/hm-strict", headers=only_date), NOT_VALID)
    assert proxy(gw).get("/hm", headers=only_date).status_code == 200


def test_does_not_match(gateway, world):
    gw = gateway
    _assert_401(proxy(gw).get("/hm", headers=signed("GET", "/hm", secret="wrong")), NOT_SAME)
    _assert_401(proxy(gw).get("/hm?x=1", headers=signed("GET", "/hm")), NOT_SAME)
    _assert_401(proxy(gw).get("/hm-realm", headers=signed("POST", "/hm-realm")), NOT_SAME,
                'hmac realm="kong"')
    garbage = signed("GET", "/hm")
    garbage["Authorization"] = garbage["Authorization"].rsplit("signature=", 1)[0] + \
        'signature="%%%not base64%%%"'
    _assert_401(proxy(gw).get("/hm", headers=garbage), NOT_SAME)


@pytest.mark.parametrize("algorithm", sorted(DIGESTS))
def test_valid_signatures(gateway, world, algorithm):
    gw = gateway
    resp = proxy(gw).get("/hm/x?a=1&b=2", headers={
        **signed("GET", "/hm/x?a=1&b=2", algorithm), "X-Consumer-Custom-ID": "spoof",
        "X-Credential-Identifier": "spoof", "X-Anonymous-Consumer": "true"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-id"] == world["bob"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-consumer-custom-id"] == "bob-1"
    assert seen["x-credential-identifier"] == "bob-hmac"
    assert "x-anonymous-consumer" not in seen
    assert seen["authorization"].startswith("hmac username=")


def test_request_target_and_other_headers(gateway, world):
    gw = gateway
    date = http_date()
    lines = [f"x-date: {date}", "@request-target: post /hm/t?q=%20a", "content-md5: abc",
             "x-missing:"]
    headers = {"X-Date": date, "Content-MD5": "abc", "Authorization": authorization(
        lines, "x-date @request-target content-md5 x-missing", "hmac-sha512")}
    resp = proxy(gw).post("/hm/t?q=%20a", headers=headers)
    assert resp.status_code == 200, resp.text


def test_proxy_authorization_and_hide_credentials(gateway, world):
    gw = gateway
    resp = proxy(gw).get("/hm", headers=signed("GET", "/hm", header="Proxy-Authorization"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["headers"]["x-credential-identifier"] == "bob-hmac"
    for header in ("Authorization", "Proxy-Authorization"):
        resp = proxy(gw).get("/hm-hide", headers=signed("GET", "/hm-hide", header=header))
        assert resp.status_code == 200, resp.text
        assert header.lower() not in resp.json()["headers"]


def test_body_digest(gateway, world):
    gw = gateway
    body = b'{"hello": "world"}'
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()

    def post(data: bytes, extra: dict[str, str]) -> requests.Response:
        headers = {**signed("POST", "/hm-body"), **extra}
        return proxy(gw).post("/hm-body", data=data, headers=headers)

    resp = post(body, {"Digest": digest})
    assert resp.status_code == 200, resp.text
    assert resp.json()["body"] == body.decode()
    _assert_401(post(body + b" ", {"Digest": digest}), NOT_SAME)
    _assert_401(post(body, {}), NOT_SAME)
    _assert_401(post(body, {"Digest": "SHA-256=abc"}), NOT_SAME)
    assert post(b"", {}).status_code == 200
    # without validate_request_body the digest is not looked at
    headers = {**signed("POST", "/hm"), "Digest": "SHA-256=abc"}
    assert proxy(gw).post("/hm", data=body, headers=headers).status_code == 200


def test_anonymous_chain(gateway, world):
    gw = gateway
    seen = proxy(gw).get("/hm-anon", headers={"X-Consumer-ID": "spoof"}).json()["headers"]
    assert seen["x-consumer-id"] == world["anon"]["id"]
    assert seen["x-anonymous-consumer"] == "true"
    assert "x-credential-identifier" not in seen
    bad = proxy(gw).get("/hm-anon", headers=signed("GET", "/hm-anon", secret="nope"))
    assert bad.json()["headers"]["x-consumer-id"] == world["anon"]["id"]
    seen = proxy(gw).get("/hm-anon", headers=signed("GET", "/hm-anon")).json()["headers"]
    assert seen["x-consumer-username"] == "bob" and "x-anonymous-consumer" not in seen
    seen = proxy(gw).get("/hm-anon", headers={"apikey": "bob-key"}).json()["headers"]
    assert seen["x-consumer-username"] == "bob"


def test_credential_revocation(gateway, world):
    gw = gateway
    gw.create("/consumers/bob/hmac-auth", {"username": "short", "secret": "s"})
    gw.wait_sync()
    assert proxy(gw).get("/hm", headers=signed("GET", "/hm", secret="s", username="short")) \
        .status_code == 200
    admin(gw).delete("/hmac-auths/short")
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = proxy(gw).get("/hm", headers=signed("GET", "/hm", secret="s",
                                                     username="short")).status_code
    assert status == 401


def test_no_lua_errors_logged(gateway, world):
    # malformed input is a 401, never an error-level log line
    gateway.assert_clean_error_log()
