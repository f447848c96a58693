"""Kong 3.9's cors access scenarios (spec/03-plugins/13-cors) through a real
node: the origin-matching table, preflights, the other methods, error
responses and the upstream's own CORS headers."""
from __future__ import annotations

import pytest

from tests.helpers.http import proxy
from tests.helpers.servers import free_port

ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
CORS_HEADERS = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials",
                "Access-Control-Max-Age")

ORIGINS = ["http://evil.test", "http://foo.test", "http://foo.test.evil.test",
           "http://something.foo.test", "http://evilfoo.test", "http://foo.test:80",
           "http://foo.test:8000", "https://foo.test:8000", "http://foo.test:90",
           "http://foobtest", "https://bar.test:1234"]

# (origins, {request origin: expected}) with expected True (the origin is
# echoed), False (no ACAO), or the exact ACAO; origins left out expect False
REGEX_CASES = [
    (["foo.test"], dict.fromkeys(ORIGINS, "foo.test")),
    (["https://bar.test:1234"], dict.fromkeys(ORIGINS, "https://bar.test:1234")),
    ([r"foo\.test"], {"http://foo.test": True, "http://foo.test:80": "http://foo.test",
                      "http://foo.test:8000": True, "https://foo.test:8000": True,
                      "http://foo.test:90": True}),
    ([r"(.*[./])?foo\.test"], {"http://foo.test": True, "http://something.foo.test": True,
                               "http://foo.test:80": "http://foo.test",
                               "http://foo.test:8000": True, "https://foo.test:8000": True,
                               "http://foo.test:90": True}),
    ([r"(.*[./])?foo\.test:8000"], {"http://foo.test:8000": True,
                                    "https://foo.test:8000": True}),
    ([r"https://(.*[.])?foo\.test:8000"], {"https://foo.test:8000": True}),
    ([r"^http://(.*[.])?foo\.test(:(80|90))?$"], {
        "http://foo.test": True, "http://something.foo.test": True,
        "http://foo.test:80": "http://foo.test", "http://foo.test:90": True}),
    (["foo.test", "bar.test"], {}),
    (["http://foo.test", "https://bar.test:1234"], {
        "http://foo.test": True, "http://foo.test:80": "http://foo.test",
        "https://bar.test:1234": True}),
    (["bar.test", r"foo\.test"], {"http://foo.test": True,
                                  "http://foo.test:80": "http://foo.test",
                                  "http://foo.test:8000": True, "http://foo.test:90": True,
                                  "https://foo.test:8000": True}),
    (["bar.test", r"(.*\.)?foo\.test"], {
        "http://foo.test": True, "http://something.foo.test": True,
        "http://foo.test:80": "http://foo.test", "http://foo.test:8000": True,
        "https://foo.test:8000": True, "http://foo.test:90": True}),
    (["bar.test", r"(.*[./])?foo\.test:8000"], {"http://foo.test:8000": True,
                                                "https://foo.test:8000": True}),
    (["bar.test", r"https://(.*\.)?foo\.test:8000"], {"https://foo.test:8000": True}),
]

EXAMPLE = {"origins": ["example.com"], "methods": ["GET"],
           "headers": ["origin", "type", "accepts"], "exposed_headers": ["x-auth-token"],
           "max_age": 23}


@pytest.fixture(scope="module")
def cors(gateway, svc):
    gw = gateway
    routes = {
        "/cors1": {},
        "/cors2": {**EXAMPLE, "credentials": True},
        "/cors3": {**EXAMPLE, "preflight_continue": True},
        "/cors5": {"origins": ["*"], "credentials": True},
        "/cors6": {**EXAMPLE, "origins": ["example.com", "example.org"],
                   "preflight_continue": True},
        "/cors7": {"origins": ["*"], "credentials": False},
        "/cors8": {"origins": []},
        "/cors9": {"origins": [r".*\.?example(?:-foo)?.com"]},
        "/cors10": {"origins": ["http://my-site.com", "http://my-other-site.com"]},
        "/cors11": {"origins": ["http://my-site.com", "https://my-other-site.com:9000"]},
        "/cors12": {"credentials": True, "max_age": 1728000,
                    "headers": ["DNT", "X-CustomHeader", "Keep-Alive", "User-Agent",
                                "X-Requested-With", "If-Modified-Since", "Cache-Control",
                                "Content-Type", "Authorization"],
                    "methods": None, "origins": ["a.xxx.com", "allowed-domain.test"]},
        "/cors13": {"private_network": True},
    }
    for path, config in routes.items():
        gw.route(path, {"name": "cors", "config": config})
    gw.route("/cors4", {"name": "cors"}, {"name": "key-auth"})
    continued = {"name": "cors",
                 "config": {**EXAMPLE, "max_age": 10, "preflight_continue": True}}
    gw.route("/cors-error", continued,
             {"name": "post-function", "config": {"access": ["error('boom')"]}})
    gw.create("/services", {"name": "down", "url": f"http://127.0.0.1:{free_port()}"})
    gw.route("/cors-down", continued, service="down")
    for i, (origins, _) in enumerate(REGEX_CASES):
        gw.route(f"/regex{i}", {"name": "cors", "config": {"origins": origins}})
    gw.wait_sync()


def _preflight(gw, path, origin, **headers):
    return proxy(gw).options(path, headers={"Origin": origin,
                                            "Access-Control-Request-Method": "GET", **headers})


def _has(resp, expected):
    assert {name: resp.headers.get(name) for name in expected} == expected


def _absent(resp, *names):
    for name in names:
        assert name not in resp.headers, name


@pytest.mark.parametrize("case", range(len(REGEX_CASES)))
def test_origin_matching(cors, gateway, case):
    origins, expected = REGEX_CASES[case]
    for origin in ORIGINS:
        want = expected.get(origin, False)
        resp = _preflight(gateway, f"/regex{case}", origin)
        assert resp.status_code == 200
        if want is False:
            assert "Access-Control-Allow-Origin" not in resp.headers, (origins, origin)
            continue
        assert resp.headers.get("Access-Control-Allow-Origin") == \
            (origin if want is True else want), (origins, origin)
        assert resp.headers["Access-Control-Allow-Methods"] == ALL_METHODS
        _absent(resp, *CORS_HEADERS[1:])


def test_preflight_defaults(cors, gateway):
    for path in ("/cors1", "/cors8"):
        resp = _preflight(gateway, path, "origin1.com")
        assert resp.status_code == 200 and resp.headers["Content-Length"] == "0"
        assert resp.headers["Access-Control-Allow-Methods"] == ALL_METHODS
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        _absent(resp, *CORS_HEADERS[1:], "Vary")
    resp = _preflight(gateway, "/cors5", "origin5.com")
    assert resp.headers["Content-Length"] == "0"
    assert resp.headers["Access-Control-Allow-Methods"] == ALL_METHODS
    assert resp.headers["Access-Control-Allow-Origin"] == "origin5.com"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    _absent(resp, "Access-Control-Allow-Headers", "Access-Control-Expose-Headers",
            "Access-Control-Max-Age")


def test_preflight_config_options(cors, gateway):
    resp = _preflight(gateway, "/cors2", "origin5.com")
    assert resp.status_code == 200
    _has(resp, {"Content-Length": "0", "Access-Control-Allow-Methods": "GET",
                "Access-Control-Allow-Origin": "example.com", "Access-Control-Max-Age": "23",
                "Access-Control-Allow-Credentials": "true", "Vary": "Origin",
                "Access-Control-Allow-Headers": "origin,type,accepts",
                "Access-Control-Expose-Headers": None})
    resp = _preflight(gateway, "/cors5", "origin5.com",
                      **{"Access-Control-Request-Headers": "origin,accepts"})
    assert resp.headers["Access-Control-Allow-Headers"] == "origin,accepts"


def test_preflight_continue_and_private_network(cors, gateway):
    resp = proxy(gateway).options("/cors3?status=201")
    assert resp.status_code == 201 and resp.json()["method"] == "OPTIONS"
    resp = _preflight(gateway, "/cors3?status=201", "example.com")
    assert resp.status_code == 201 and resp.json()["method"] == "OPTIONS"
    _absent(resp, "Access-Control-Allow-Origin")
    resp = _preflight(gateway, "/cors13", "origin.test",
                      **{"Access-Control-Request-Private-Network": "true"})
    assert resp.headers["Access-Control-Allow-Private-Network"] == "true"
    resp = _preflight(gateway, "/cors13", "origin.test")
    _absent(resp, "Access-Control-Allow-Private-Network")
    resp = _preflight(gateway, "/cors1", "origin.test",
                      **{"Access-Control-Request-Private-Network": "true"})
    _absent(resp, "Access-Control-Allow-Private-Network")


def test_flat_strings_without_request_method(cors, gateway):
    # an OPTIONS without Access-Control-Request-Method goes upstream
    px = proxy(gateway)
    resp = px.options("/cors10", headers={"Origin": "http://my-site.com"})
    assert resp.status_code == 200 and resp.json()["method"] == "OPTIONS"
    assert resp.headers["Access-Control-Allow-Origin"] == "http://my-site.com"
    for origin in ("http://bad-guys.com", "http://my-site.com.bad-guys.com"):
        resp = px.options("/cors10", headers={"Origin": origin})
        assert resp.status_code == 200
        _absent(resp, "Access-Control-Allow-Origin")


def test_other_methods_defaults(cors, gateway):
    px = proxy(gateway)
    for resp in (px.get("/cors1"), px.options("/cors1/anything"),
                 px.get("/cors1/asdasdasd?status=404"), px.get("/cors4")):
        assert resp.headers["Access-Control-Allow-Origin"] == "*"
        _absent(resp, *CORS_HEADERS, "Vary")
    assert px.options("/cors1/anything").json()["method"] == "OPTIONS"
    assert px.get("/cors1/x?status=404").status_code == 404
    assert px.get("/cors4").status_code == 401


def test_other_methods_config_options(cors, gateway):
    px = proxy(gateway)
    resp = px.get("/cors2")
    assert resp.headers["Access-Control-Allow-Origin"] == "example.com"
    assert resp.headers["Access-Control-Expose-Headers"] == "x-auth-token"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    _absent(resp, "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
            "Access-Control-Max-Age")
    # an unreachable upstream (502) and a runtime error (500) are decorated too
    for path, status in (("/cors-down", 502), ("/cors-error", 500)):
        resp = px.get(path)
        assert resp.status_code == status, path
        assert resp.headers["Access-Control-Allow-Origin"] == "example.com"
        assert resp.headers["Access-Control-Expose-Headers"] == "x-auth-token"
        assert resp.headers["Vary"] == "Origin"
        _absent(resp, "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Max-Age")


def test_origin_lists(cors, gateway):
    px = proxy(gateway)

    def acao(path, origin):
        resp = px.get(path, headers={"Origin": origin})
        assert resp.status_code == 200
        assert resp.headers["Vary"] == "Origin"
        return resp.headers.get("Access-Control-Allow-Origin")

    assert acao("/cors6", "example.com") == "example.com"
    for domain, ok in (("example.com", True), ("www.example.com", True),
                       ("example-foo.com", True), ("www.example-foo.com", True),
                       ("www.example-fo0.com", False)):
        assert acao("/cors9", domain) == (domain if ok else None), domain
    # a literal entry is compared with the whole normalised origin
    for origin in ("http://example.com", "https://example.com", "http://www.example.net"):
        assert acao("/cors6", origin) is None
    assert acao("/cors11", "http://my-site.com") == "http://my-site.com"
    assert acao("/cors11", "http://my-site.com:80") == "http://my-site.com"
    assert acao("/cors11", "http://my-site.com:8000") is None
    assert acao("/cors11", "https://my-site.com") is None
    assert acao("/cors11", "https://my-other-site.com:9000") == "https://my-other-site.com:9000"
    assert acao("/cors11", "https://my-other-site.com:9001") is None


def test_wildcard_and_credentials(cors, gateway):
    px = proxy(gateway)
    for origin in ("http://www.example.net", "http://www.example.net:3000"):
        resp = px.get("/cors5", headers={"Origin": origin})
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        assert resp.headers["Vary"] == "Origin"
    resp = px.get("/cors7", headers={"Origin": "http://www.example.net"})
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    _absent(resp, "Access-Control-Allow-Credentials", "Vary")


def test_upstream_acao_replaced_or_removed(cors, gateway):
    px = proxy(gateway)
    query = "?header=Response-Header:is-added&header=Access-Control-Allow-Origin:*"
    resp = px.get("/cors12" + query, headers={"Origin": "allowed-domain.test"})
    assert resp.status_code == 200
    assert resp.headers["Response-Header"] == "is-added"
    assert resp.headers["Access-Control-Allow-Origin"] == "allowed-domain.test"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    assert resp.json()["headers"]["origin"] == "allowed-domain.test"
    resp = px.get("/cors12" + query, headers={"Origin": "disallowed-domain.test"})
    assert resp.headers["Response-Header"] == "is-added"
    _absent(resp, "Access-Control-Allow-Origin")
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
