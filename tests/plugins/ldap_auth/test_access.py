"""ldap-auth through a real node against a real slapd (scripts/servers/ldap.sh):
plain LDAP, LDAPS and StartTLS binds, host verification, the answer cache,
anonymous, hide_credentials and Kong 3.9's messages."""
from __future__ import annotations

import base64
import socket

import pytest

from tests.helpers import ldap
from tests.helpers.http import admin, proxy

EINSTEIN = f"uid=einstein,{ldap.BASE_DN}"
CURIE = f"uid=curie,{ldap.BASE_DN}"


def creds(user: str, password: str, scheme: str = "ldap") -> str:
    return f"{scheme} " + base64.b64encode(f"{user}:{password}".encode()).decode()


def conf(**extra) -> dict:
    config = {"ldap_host": ldap.HOST, "ldap_port": ldap.PORT, "base_dn": ldap.BASE_DN,
              "attribute": "uid"}
    config.update(extra)
    return {"name": "ldap-auth", "config": config}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def gateway(start_node):
    """A node that trusts the LDAP test server's CA."""
    ldap.require_ldap()
    return start_node(lua_ssl_trusted_certificate=str(ldap.CA))


@pytest.fixture(scope="module")
def routes(gateway, svc):
    gw = gateway
    gw.create("/consumers", {"username": "anon"})
    gw.create("/consumers", {"username": "bob"})
    gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    gw.route("/plain", conf())
    gw.route("/hide", conf(hide_credentials=True))
    gw.route("/realm", conf(realm="kong"))
    gw.route("/basic-type", conf(header_type="basic"))
    gw.route("/cn", conf(attribute="cn"))
    # As in Kong, the cache key leaves the transport out: each TLS route gets a
    # cache_ttl of its own so that its binds reach the directory.
    gw.route("/ldaps", conf(ldaps=True, ldap_port=ldap.LDAPS_PORT, cache_ttl=61))
    gw.route("/ldaps-verify", conf(ldaps=True, ldap_port=ldap.LDAPS_PORT, cache_ttl=62,
                                   ldap_host="localhost", verify_ldap_host=True))
    gw.route("/ldaps-verify-ip", conf(ldaps=True, ldap_port=ldap.LDAPS_PORT, cache_ttl=63,
                                      verify_ldap_host=True))
    gw.route("/starttls", conf(start_tls=True, cache_ttl=64))
    gw.route("/starttls-verify", conf(start_tls=True, ldap_host="localhost", cache_ttl=65,
                                      verify_ldap_host=True))
    gw.route("/starttls-verify-ip", conf(start_tls=True, verify_ldap_host=True, cache_ttl=66))
    gw.route("/cached", conf(cache_ttl=300))
    gw.route("/down", conf(ldap_port=closed_port(), timeout=2000))
    gw.route("/anon", conf(anonymous="anon"))
    gw.route("/either", {"name": "key-auth", "config": {"anonymous": "anon"}},
             conf(anonymous="anon"))
    gw.wait_sync()
    return gw


def test_good_and_bad_binds(routes):
    px = proxy(routes)
    resp = px.get("/plain", headers={"Authorization": creds("einstein", "password")})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-credential-identifier"] == "einstein"
    assert "authorization" in seen
    for name in ("x-consumer-id", "x-consumer-username", "x-anonymous-consumer"):
        assert name not in seen
    # the scheme is case-insensitive; a colon in the password is kept
    resp = px.get("/plain", headers={"Authorization": creds("curie", "radium:polonium", "LDAP")})
    assert resp.status_code == 200, resp.text
    # Proxy-Authorization first, Authorization when it fails
    resp = px.get("/plain", headers={"Proxy-Authorization": creds("einstein", "nope"),
                                     "Authorization": creds("einstein", "password")})
    assert resp.status_code == 200
    for headers in ({}, {"Authorization": creds("einstein", "wrong")},
                    {"Authorization": creds("nobody", "password")},
                    {"Authorization": creds("einstein", "password", "Basic")},
                    {"Authorization": "ldap %%%"},
                    {"Authorization": "ldap " + base64.b64encode(b"einstein:").decode()},
                    {"Authorization": creds("einstein,ou=x", "password")}):
        resp = px.get("/plain", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["message"] == "Unauthorized"
        assert resp.headers["WWW-Authenticate"] == "LDAP"
    assert px.get("/realm").headers["WWW-Authenticate"] == 'LDAP realm="kong"'
    resp = px.get("/basic-type", headers={"Authorization": creds("einstein", "password", "Basic")})
    assert resp.status_code == 200
    assert px.get("/basic-type").headers["WWW-Authenticate"] == "basic"
    # another attribute names another entry
    assert px.get("/cn", headers={"Authorization": creds("newton", "apple")}).status_code == 200
    assert px.get("/plain", headers={"Authorization": creds("newton", "apple")}) \
        .status_code == 401


def test_hide_credentials(routes):
    px = proxy(routes)
    resp = px.get("/hide", headers={"Authorization": creds("einstein", "password"),
                                    "Proxy-Authorization": creds("einstein", "password")})
    assert resp.status_code == 200
    seen = resp.json()["headers"]
    assert "authorization" not in seen and "proxy-authorization" not in seen
    assert seen["x-credential-identifier"] == "einstein"


@pytest.mark.parametrize("path", ["/ldaps", "/ldaps-verify", "/starttls", "/starttls-verify"])
def test_tls_binds(routes, path):
    px = proxy(routes)
    before = ldap.binds(EINSTEIN)
    resp = px.get(path, headers={"Authorization": creds("einstein", "password")})
    assert resp.status_code == 200, (path, resp.text, routes.error_log_tail())
    assert resp.json()["headers"]["x-credential-identifier"] == "einstein"
    assert ldap.binds(EINSTEIN) == before + 1
    resp = px.get(path, headers={"Authorization": creds("einstein", "bad-" + path)})
    assert resp.status_code == 401


@pytest.mark.parametrize("path", ["/ldaps-verify-ip", "/starttls-verify-ip"])
def test_tls_host_verification_fails(routes, path):
    # the server certificate names "localhost" only
    before = ldap.binds(CURIE)
    resp = proxy(routes).get(path, headers={"Authorization": creds("curie", "radium:polonium")})
    assert resp.status_code == 401, routes.error_log_tail()
    assert resp.headers["WWW-Authenticate"] == "LDAP"
    assert ldap.binds(CURIE) == before
    assert "failed to do SSL handshake" not in resp.text


def test_answers_are_cached(routes):
    px = proxy(routes)
    before = ldap.binds(CURIE)
    for _ in range(4):  # two workers: the node's shared cache answers the second one
        resp = px.get("/cached", headers={"Authorization": creds("curie", "radium:polonium")})
        assert resp.status_code == 200
    assert ldap.binds(CURIE) == before + 1
    for _ in range(4):  # refusals too
        resp = px.get("/cached", headers={"Authorization": creds("curie", "wrong")})
        assert resp.status_code == 401
    assert ldap.binds(CURIE) == before + 2
    # a changed password is another key: asked again
    assert px.get("/cached", headers={"Authorization": creds("curie", "other")}) \
        .status_code == 401
    assert ldap.binds(CURIE) == before + 3


def test_unreachable_directory_is_500(routes):
    resp = proxy(routes).get("/down", headers={"Authorization": creds("einstein", "password")})
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    assert "failed to connect to" in routes.error_log_tail(80)


def test_anonymous(routes):
    px = proxy(routes)
    anon = admin(routes).get("/consumers/anon")
    seen = px.get("/anon", headers={"Authorization": creds("einstein", "wrong")}).json()["headers"]
    assert seen["x-anonymous-consumer"] == "true"
    assert seen["x-consumer-id"] == anon["id"]
    assert seen["x-consumer-username"] == "anon"
    seen = px.get("/anon", headers={"Authorization": creds("einstein", "password"),
                                    "X-Anonymous-Consumer": "true",
                                    "X-Consumer-Username": "forged"}).json()["headers"]
    assert "x-anonymous-consumer" not in seen and "x-consumer-username" not in seen
    assert seen["x-credential-identifier"] == "einstein"
    # logical OR: key-auth (higher priority) authenticated, ldap-auth is skipped
    before = ldap.binds(EINSTEIN)
    seen = px.get("/either", headers={"apikey": "bob-key",
                                      "Authorization": creds("einstein", "x")}).json()["headers"]
    assert seen["x-consumer-username"] == "bob"
    assert ldap.binds(EINSTEIN) == before
    seen = px.get("/either", headers={"Authorization": creds("einstein", "password")}) \
        .json()["headers"]
    assert seen["x-credential-identifier"] == "einstein"
    assert "x-anonymous-consumer" not in seen
