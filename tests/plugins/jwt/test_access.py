"""jwt through a real node: tokens signed here (stdlib HMAC, the openssl CLI)."""
from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.http import admin, proxy
from tests.plugins.jwt.tokens import ASYMMETRIC, HS, Keys, b64url, make_token

BEARER_ERROR = 'Bearer error="invalid_token"'


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    require_binary("openssl")
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def world(gateway, svc, keys):
    gw = gateway
    bob = gw.create("/consumers", {"username": "bob"})
    anon = gw.create("/consumers", {"username": "anon"})
    for alg in HS:
        gw.create("/consumers/bob/jwt", {"key": f"k-{alg}", "secret": f"s-{alg}",
                                         "algorithm": alg})
    for alg, (name, *_rest) in ASYMMETRIC.items():
        gw.create("/consumers/bob/jwt", {"key": f"k-{alg}", "algorithm": alg,
                                         "rsa_public_key": keys.public[name]})
    gw.create("/consumers/bob/jwt", {"key": "k-b64", "secret": b64url(b"\x00raw\xffkey")})
    gw.create("/consumers/bob/jwt", {"key": "k-notb64", "secret": "not base64!"})
    gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    routes = {
        "/jwt": {},
        "/jwt-realm": {"realm": "kong"},
        "/jwt-claims": {"claims_to_verify": ["exp", "nbf"]},
        "/jwt-max": {"claims_to_verify": ["exp"], "maximum_expiration": 100},
        "/jwt-b64": {"secret_is_base64": True},
        "/jwt-where": {"cookie_names": ["tok"], "header_names": ["x-token"],
                       "uri_param_names": ["t"], "key_claim_name": "kid"},
        "/jwt-preflight": {"run_on_preflight": False},
        "/jwt-anon": {"anonymous": "anon"},
    }
    gw.add_plugin_routes("svc", "jwt", routes, anonymous=("/jwt-anon", anon["id"]))
    gw.wait_sync()
    return {"bob": bob, "anon": anon}


def _get(gw, path: str, bearer: str | None = None, **kwargs) -> requests.Response:
    if bearer is not None:
        kwargs.setdefault("headers", {})["Authorization"] = "Bearer " + bearer
    return proxy(gw).get(path, **kwargs)


def _assert_401(resp: requests.Response, body, www: str = BEARER_ERROR) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json() == (body if isinstance(body, dict) else {"message": body})
    assert resp.headers["WWW-Authenticate"] == www


def _hs(keys: Keys, claims: dict, alg: str = "HS256") -> str:
    return make_token(keys, claims, alg, f"s-{alg}".encode())


def test_no_token_and_multiple(gateway, world, keys):
    gw = gateway
    _assert_401(_get(gw, "/jwt"), "Unauthorized", "Bearer")
    _assert_401(_get(gw, "/jwt-realm"), "Unauthorized", 'Bearer realm="kong"')
    _assert_401(_get(gw, "/jwt", headers={"Authorization": "Basic abc"}), "Unauthorized",
                "Bearer")
    one, two = _hs(keys, {"iss": "k-HS256"}), _hs(keys, {"iss": "k-HS256", "x": 1})
    _assert_401(_get(gw, f"/jwt?jwt={two}", one), "Multiple tokens provided")
    _assert_401(_get(gw, f"/jwt?jwt={one}&jwt={two}"), "Multiple tokens provided")
    _assert_401(_get(gw, "/jwt-realm?jwt=a&jwt=b"), "Multiple tokens provided",
                'Bearer realm="kong" error="invalid_token"')
    assert _get(gw, f"/jwt?jwt={one}", one).status_code == 200  # the same token twice


def test_bad_tokens(gateway, world, keys):
    gw = gateway
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = b64url(b'{"iss":"k-HS256"}')
    no_alg, alg_none = b64url(b"{}"), b64url(b'{"alg":"none"}')
    typ_jws = b64url(b'{"alg":"HS256","typ":"JWS"}')
    bad_json = b64url(b"[1")
    cases = {
        "abc": "invalid JSON",
        f"{head}.{claims}": "invalid JSON",
        f"%%%.{claims}.sig": "invalid JSON",
        f"{head}.bm90IGpzb24.sig": "invalid JSON",
        f"{bad_json}.{claims}.sig": "invalid JSON",
        f"{no_alg}.{claims}.sig": "invalid alg",
        f"{alg_none}.{claims}.": "invalid alg",
        f"{typ_jws}.{claims}.sig": "invalid typ",
        f"{head}.{b64url(b'1')}.sig": "invalid claims",
        f"{head}.{claims}.a.b": "invalid signature",
        f"{head}.{claims}.x": "invalid signature",
    }
    for token, reason in cases.items():
        _assert_401(_get(gw, "/jwt", token), "Bad token; " + reason)
    _assert_401(_get(gw, "/jwt?jwt"), "Unrecognizable token")


def test_key_claim_errors(gateway, world, keys):
    gw = gateway
    _assert_401(_get(gw, "/jwt", _hs(keys, {"sub": "x"})), "No mandatory 'iss' in claims")
    _assert_401(_get(gw, "/jwt", _hs(keys, {"iss": ""})), "Invalid 'iss' in claims")
    _assert_401(_get(gw, "/jwt", _hs(keys, {"iss": "nobody"})),
                "No credentials found for given 'iss'")
    _assert_401(_get(gw, "/jwt", _hs(keys, {"iss": 42})),
                "No credentials found for given 'iss'")
    # a false claim counts as absent: the header's value is used, if any
    _assert_401(_get(gw, "/jwt", _hs(keys, {"iss": False})), "No mandatory 'iss' in claims")
    fallback = make_token(keys, {"iss": False}, secret=b"s-HS256",
                          header={"typ": "JWT", "alg": "HS256", "iss": "k-HS256"})
    assert _get(gw, "/jwt", fallback).status_code == 200
    _assert_401(_get(gw, "/jwt", _hs(keys, {"iss": "k-HS256"}, "HS512")), "Invalid algorithm")
    _assert_401(_get(gw, "/jwt", make_token(keys, {"iss": "k-HS256"}, secret=b"wrong")),
                "Invalid signature")
    _assert_401(_get(gw, "/jwt-b64", make_token(keys, {"iss": "k-notb64"}, secret=b"x")),
                "Invalid key/secret")


@pytest.mark.parametrize("alg", [*HS, *ASYMMETRIC])
def test_valid_signatures(gateway, world, keys, alg):
    gw = gateway
    secret = f"s-{alg}".encode()
    token = make_token(keys, {"iss": f"k-{alg}", "exp": time.time() + 60}, alg, secret)
    resp = _get(gw, "/jwt", token, headers={"X-Consumer-Custom-ID": "spoof",
                                            "X-Anonymous-Consumer": "true"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-id"] == world["bob"]["id"]
    assert seen["x-consumer-username"] == "bob"
    assert seen["x-credential-identifier"] == f"k-{alg}"
    assert "x-consumer-custom-id" not in seen and "x-anonymous-consumer" not in seen
    # a token signed for another payload, or with another key, does not verify
    head, claims, sig = token.split(".")
    forged = head + "." + b64url(b'{"iss":"k-%s","admin":true}' % alg.encode()) + "." + sig
    _assert_401(_get(gw, "/jwt", forged), "Invalid signature")
    if alg in ASYMMETRIC:
        other = "ES256" if alg != "ES256" else "RS256"
        wrong = make_token(keys, {"iss": f"k-{alg}"}, other, header={"typ": "JWT", "alg": alg})
        _assert_401(_get(gw, "/jwt", wrong), "Invalid signature")


def test_base64_secret(gateway, world, keys):
    token = make_token(keys, {"iss": "k-b64"}, secret=b"\x00raw\xffkey")
    assert _get(gateway, "/jwt-b64", token).status_code == 200
    assert _get(gateway, "/jwt", token).status_code == 401
    # Kong 3.9 base64-decodes whichever value it verifies with, the PEM of an
    # RS* credential included (a PEM is not base64, and the credential's schema
    # only takes a PEM): such a credential never verifies on this route.
    rs256 = make_token(keys, {"iss": "k-RS256"}, "RS256")
    assert _get(gateway, "/jwt", rs256).status_code == 200
    _assert_401(_get(gateway, "/jwt-b64", rs256), "Invalid key/secret")


def test_registered_claims(gateway, world, keys):
    gw = gateway
    now = int(time.time())
    assert _get(gw, "/jwt", _hs(keys, {"iss": "k-HS256", "exp": now - 10})).status_code == 200
    _assert_401(_get(gw, "/jwt-claims", _hs(keys, {"iss": "k-HS256", "exp": now - 10,
                                                   "nbf": now - 10})),
                {"exp": "token expired"})
    _assert_401(_get(gw, "/jwt-claims", _hs(keys, {"iss": "k-HS256", "exp": now + 60,
                                                   "nbf": now + 60})),
                {"nbf": "token not valid yet"})
    _assert_401(_get(gw, "/jwt-claims", _hs(keys, {"iss": "k-HS256", "exp": "soon",
                                                   "nbf": now})),
                {"exp": "must be a number"})
    _assert_401(_get(gw, "/jwt-claims", _hs(keys, {"iss": "k-HS256"})),
                {"exp": "must be a number", "nbf": "must be a number"})
    _assert_401(_get(gw, "/jwt-max", _hs(keys, {"iss": "k-HS256", "exp": now + 1000})),
                {"exp": "exceeds maximum allowed expiration"})
    ok = _get(gw, "/jwt-claims", _hs(keys, {"iss": "k-HS256", "exp": now + 60, "nbf": now}))
    assert ok.status_code == 200
    assert _get(gw, "/jwt-max", _hs(keys, {"iss": "k-HS256", "exp": now + 50})) \
        .status_code == 200


def test_token_locations(gateway, world, keys):
    gw = gateway
    kid_token = make_token(keys, {"sub": "x"}, "HS256", b"s-HS256",
                           header={"typ": "JWT", "alg": "HS256", "kid": "k-HS256"})
    for kwargs in ({"cookies": {"tok": kid_token}},
                   {"headers": {"X-Token": "bearer " + kid_token}},
                   {"params": {"t": kid_token}}):
        resp = _get(gw, "/jwt-where", **kwargs)
        assert resp.status_code == 200, (kwargs, resp.text)
    # the default places are not looked at on this route
    _assert_401(_get(gw, "/jwt-where", kid_token), "Unauthorized", "Bearer")
    _assert_401(_get(gw, f"/jwt-where?jwt={kid_token}"), "Unauthorized", "Bearer")
    _assert_401(_get(gw, "/jwt-where", params={"t": _hs(keys, {"iss": "k-HS256"})}),
                "No mandatory 'kid' in claims")


def test_preflight(gateway, world):
    gw = gateway
    assert requests.options(gw.proxy + "/jwt-preflight", timeout=5).status_code == 200
    assert requests.options(gw.proxy + "/jwt", timeout=5).status_code == 401
    assert _get(gw, "/jwt-preflight").status_code == 401


def test_anonymous_chain(gateway, world, keys):
    gw = gateway
    seen = _get(gw, "/jwt-anon", headers={"X-Consumer-ID": "spoof"}).json()["headers"]
    assert seen["x-consumer-id"] == world["anon"]["id"]
    assert seen["x-anonymous-consumer"] == "true" and "x-credential-identifier" not in seen
    expired = _hs(keys, {"iss": "nobody"})
    assert _get(gw, "/jwt-anon", expired).json()["headers"]["x-consumer-username"] == "anon"
    seen = _get(gw, "/jwt-anon", _hs(keys, {"iss": "k-HS256"})).json()["headers"]
    assert seen["x-credential-identifier"] == "k-HS256" and "x-anonymous-consumer" not in seen
    seen = _get(gw, "/jwt-anon", headers={"apikey": "bob-key"}).json()["headers"]
    assert seen["x-consumer-username"] == "bob"


def test_credential_revocation(gateway, world, keys):
    gw = gateway
    gw.create("/consumers/bob/jwt", {"key": "short", "secret": "s"})
    gw.wait_sync()
    token = make_token(keys, {"iss": "short"}, secret=b"s")
    assert _get(gw, "/jwt", token).status_code == 200
    admin(gw).delete("/jwts/short")
    deadline = time.monotonic() + 1.0
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = _get(gw, "/jwt", token).status_code
    assert status == 401


def test_no_lua_errors_logged(gateway, world):
    # malformed input is a 401, never an error-level log line
    gateway.assert_clean_error_log()
