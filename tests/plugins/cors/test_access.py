"""cors through a real node: preflights answered by the gateway, literal, regex
and wildcard origins, credentials, Kong 3.9's headers."""
from __future__ import annotations

import requests

from tests.helpers.http import proxy

ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"


def _preflight(gw, path: str, origin: str, **headers: str) -> requests.Response:
    return proxy(gw).options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", **headers})


def test_cors_defaults(gateway, svc):
    gw = gateway
    gw.route("/cors-default", {"name": "cors"})
    gw.wait_sync()
    resp = proxy(gw).get("/cors-default", headers={"Origin": "http://a.com"})
    assert resp.status_code == 200 and resp.json()["method"] == "GET"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in resp.headers
    assert "Access-Control-Allow-Credentials" not in resp.headers
    resp = _preflight(gw, "/cors-default", "http://a.com",
                      **{"Access-Control-Request-Headers": "X-Foo, X-Bar"})
    assert resp.status_code == 200
    assert resp.content == b""  # answered by the gateway, not the upstream
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Methods"] == ALL_METHODS
    assert resp.headers["Access-Control-Allow-Headers"] == "X-Foo, X-Bar"
    assert "Access-Control-Max-Age" not in resp.headers
    # an OPTIONS without Access-Control-Request-Method is not a preflight
    resp = proxy(gw).options("/cors-default", headers={"Origin": "http://a.com"})
    assert resp.json()["method"] == "OPTIONS"


def test_cors_literal_origin(gateway, svc):
    gw = gateway
    gw.route("/cors-literal", {"name": "cors", "config": {
        "origins": ["http://example.com"], "credentials": True, "max_age": 3600,
        "headers": ["X-A", "X-B"], "exposed_headers": ["X-One", "X-Two"],
        "methods": ["GET", "POST"], "private_network": True}})
    gw.wait_sync()
    resp = _preflight(gw, "/cors-literal", "http://other.com",
                      **{"Access-Control-Request-Private-Network": "true"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert resp.headers["Vary"] == "Origin"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Allow-Headers"] == "X-A,X-B"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert resp.headers["Access-Control-Max-Age"] == "3600"
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    resp = _preflight(gw, "/cors-literal", "http://example.com")
    assert "Access-Control-Allow-Private-Network" not in resp.headers
    resp = proxy(gw).get("/cors-literal", headers={"Origin": "http://example.com"})
    assert resp.json()["method"] == "GET"
    assert resp.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-One,X-Two"
    assert resp.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Methods" not in resp.headers


def test_cors_regex_origins(gateway, svc):
    gw = gateway
    gw.route("/cors-regex", {"name": "cors", "config": {
        "origins": ["http://a.com", r"(.*[.])?example\.org", r"https://.*\.test:8443"]}})
    gw.wait_sync()

    def acao(origin: str) -> str | None:
        resp = proxy(gw).get("/cors-regex", headers={"Origin": origin})
        assert resp.status_code == 200
        assert resp.headers["Vary"] == "Origin"
        return resp.headers.get("Access-Control-Allow-Origin")

    assert acao("http://a.com") == "http://a.com"
    assert acao("http://a.com:80") == "http://a.com"
    assert acao("http://a.com:8080") is None
    assert acao("https://api.example.org") == "https://api.example.org"
    assert acao("http://example.org:8000") == "http://example.org:8000"
    assert acao("http://example.org.evil.com") is None
    assert acao("https://x.test:8443") == "https://x.test:8443"
    assert acao("https://x.test") is None
    assert acao("http://evil.com") is None
    resp = _preflight(gw, "/cors-regex", "https://www.example.org")
    assert resp.headers["Access-Control-Allow-Origin"] == "https://www.example.org"
    resp = _preflight(gw, "/cors-regex", "http://evil.com")
    assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers


def test_cors_star_credentials_and_continue(gateway, svc):
    gw = gateway
    gw.route("/cors-star", {"name": "cors", "config": {
        "origins": ["http://a.com", "*"], "credentials": True}})
    gw.route("/cors-continue", {"name": "cors", "config": {"preflight_continue": True}})
    gw.wait_sync()
    resp = proxy(gw).get("/cors-star", headers={"Origin": "http://z.com"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://z.com"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    resp = _preflight(gw, "/cors-continue", "http://z.com")
    assert resp.json()["method"] == "OPTIONS"
    assert "Access-Control-Allow-Origin" not in resp.headers
