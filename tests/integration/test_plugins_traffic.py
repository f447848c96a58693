"""ip-restriction, cors, request-termination, request-size-limiting,
correlation-id and bot-detection through one real node."""
from __future__ import annotations

import http.client
import json
import re

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ALL_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    require_binary("nginx")
    # 127.0.0.1 is trusted, so X-Real-IP stands for other client addresses.
    node = Gateway(tmp_path_factory.mktemp("traffic"), extra={
        "trusted_ips": "127.0.0.1", "real_ip_header": "X-Real-IP"}).start()
    node.create("/services", {"name": "svc", "url": upstream.url})
    yield node
    node.stop()


def _route(gw: Gateway, path: str, *plugins: dict) -> dict:
    route = gw.create("/services/svc/routes", {"name": path.strip("/"), "paths": [path]})
    for plugin in plugins:
        gw.create(f"/routes/{route['id']}/plugins", plugin)
    return route


def _get(gw: Gateway, path: str, **kwargs) -> requests.Response:
    return requests.get(gw.proxy + path, timeout=5, **kwargs)


def _request(gw: Gateway, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, gw.proxy + path, timeout=5, **kwargs)


def _message(resp: requests.Response) -> str:
    return resp.json()["message"]


# -- ip-restriction ---------------------------------------------------------------

def test_ip_restriction(gateway):
    gw = gateway
    _route(gw, "/ipr-deny", {"name": "ip-restriction",
                             "config": {"deny": ["10.0.0.0/8", "2001:db8::/32"]}})
    _route(gw, "/ipr-allow", {"name": "ip-restriction", "config": {
        "allow": ["127.0.0.1", "fd00::/8"], "status": 401, "message": "nope"}})
    _route(gw, "/ipr-both", {"name": "ip-restriction", "config": {
        "deny": ["192.168.1.7"], "allow": ["192.168.1.0/24"]}})
    gw.wait_sync()

    def call(path: str, ip: str | None = None) -> requests.Response:
        return _get(gw, path, headers={"X-Real-IP": ip} if ip else {})

    for ip in ("10.1.2.3", "2001:db8::5", "2001:db8:ffff::1"):
        resp = call("/ipr-deny", ip)
        assert resp.status_code == 403, ip
        assert _message(resp) == f"IP address not allowed: {ip}"
    assert call("/ipr-deny", "2001:db9::1").status_code == 200
    assert call("/ipr-deny", "11.0.0.1").status_code == 200
    resp = call("/ipr-deny")
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-real-ip"] == "127.0.0.1"

    assert call("/ipr-allow").status_code == 200
    assert call("/ipr-allow", "fd12:3456::1").status_code == 200
    resp = call("/ipr-allow", "8.8.8.8")
    assert (resp.status_code, _message(resp)) == (401, "nope")
    assert call("/ipr-allow", "fe80::1").status_code == 401

    assert call("/ipr-both", "192.168.1.7").status_code == 403
    assert call("/ipr-both", "192.168.1.8").status_code == 200
    resp = call("/ipr-both", "192.168.2.1")
    assert (resp.status_code, _message(resp)) == (403, "IP address not allowed: 192.168.2.1")


# -- cors -------------------------------------------------------------------------

def _preflight(gw: Gateway, path: str, origin: str, **headers: str) -> requests.Response:
    return _request(gw, "OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", **headers})


def test_cors_defaults(gateway):
    gw = gateway
    _route(gw, "/cors-default", {"name": "cors"})
    gw.wait_sync()
    resp = _get(gw, "/cors-default", headers={"Origin": "http://a.com"})
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
    resp = _request(gw, "OPTIONS", "/cors-default", headers={"Origin": "http://a.com"})
    assert resp.json()["method"] == "OPTIONS"


def test_cors_literal_origin(gateway):
    gw = gateway
    _route(gw, "/cors-literal", {"name": "cors", "config": {
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
    resp = _get(gw, "/cors-literal", headers={"Origin": "http://example.com"})
    assert resp.json()["method"] == "GET"
    assert resp.headers["Access-Control-Allow-Origin"] == "http://example.com"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Access-Control-Expose-Headers"] == "X-One,X-Two"
    assert resp.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Methods" not in resp.headers


def test_cors_regex_origins(gateway):
    gw = gateway
    _route(gw, "/cors-regex", {"name": "cors", "config": {
        "origins": ["http://a.com", r"(.*[.])?example\.org", r"https://.*\.test:8443"]}})
    gw.wait_sync()

    def acao(origin: str) -> str | None:
        resp = _get(gw, "/cors-regex", headers={"Origin": origin})
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


def test_cors_star_credentials_and_continue(gateway):
    gw = gateway
    _route(gw, "/cors-star", {"name": "cors", "config": {
        "origins": ["http://a.com", "*"], "credentials": True}})
    _route(gw, "/cors-continue", {"name": "cors", "config": {"preflight_continue": True}})
    gw.wait_sync()
    resp = _get(gw, "/cors-star", headers={"Origin": "http://z.com"})
    assert resp.headers["Access-Control-Allow-Origin"] == "http://z.com"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert resp.headers["Vary"] == "Origin"
    resp = _preflight(gw, "/cors-continue", "http://z.com")
    assert resp.json()["method"] == "OPTIONS"
    assert "Access-Control-Allow-Origin" not in resp.headers


# -- request-termination ------------------------------------------------------------

def test_request_termination(gateway):
    gw = gateway
    _route(gw, "/rt-default", {"name": "request-termination"})
    _route(gw, "/rt-msg", {"name": "request-termination",
                           "config": {"status_code": 403, "message": "Go away"}})
    _route(gw, "/rt-body", {"name": "request-termination", "config": {
        "status_code": 200, "body": "<h1>hi</h1>", "content_type": "text/html"}})
    _route(gw, "/rt-empty", {"name": "request-termination", "config": {"status_code": 418}})
    _route(gw, "/rt-trigger", {"name": "request-termination",
                               "config": {"status_code": 404, "trigger": "X-Stop"}})
    gw.wait_sync()
    resp = _get(gw, "/rt-default")
    assert resp.status_code == 503
    assert resp.json() == {"message": "Service unavailable"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Server"].startswith("kongpy/")
    resp = _get(gw, "/rt-msg")
    assert (resp.status_code, resp.json()) == (403, {"message": "Go away"})
    resp = _get(gw, "/rt-body")
    assert (resp.status_code, resp.text) == (200, "<h1>hi</h1>")
    assert resp.headers["Content-Type"] == "text/html"
    resp = _get(gw, "/rt-empty")
    assert (resp.status_code, resp.content) == (418, b"")
    assert _get(gw, "/rt-trigger").json()["method"] == "GET"  # proxied
    resp = _get(gw, "/rt-trigger", headers={"X-Stop": "1"})
    assert (resp.status_code, resp.json()) == (404, {"message": "Not found"})
    assert _get(gw, "/rt-trigger?X-Stop").status_code == 404
    assert _get(gw, "/rt-trigger?x-stop=1").status_code == 200  # query names are exact


def test_request_termination_echo(gateway):
    gw = gateway
    route = _route(gw, "/rt-echo", {"name": "request-termination",
                                    "config": {"echo": True, "status_code": 200}})
    gw.wait_sync()
    resp = _request(gw, "POST", "/rt-echo/x?q=1&q=2", json={"a": 1},
                    headers={"X-Hello": "world"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert "message" not in body  # no default message for 200
    req = body["request"]
    assert req["method"] == "POST" and req["path"] == "/rt-echo/x"
    assert req["scheme"] == "http" and req["host"] == "127.0.0.1"
    assert req["port"] == gw.ports["proxy"]
    assert req["query"] == {"q": ["1", "2"]}
    assert req["headers"]["x-hello"] == "world"
    assert req["body"] == {"a": 1}
    assert json.loads(req["raw_body"]) == {"a": 1}
    assert body["matched_route"]["id"] == route["id"]
    assert body["matched_service"]["name"] == "svc"
    assert isinstance(body["kong"]["worker_pid"], int)
    assert body["kong"]["node_id"] and body["kong"]["hostname"]


# -- request-size-limiting ----------------------------------------------------------

def _chunks(data: bytes, size: int = 3):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_request_size_limiting(gateway):
    gw = gateway
    _route(gw, "/rsl", {"name": "request-size-limiting",
                        "config": {"allowed_payload_size": 10, "size_unit": "bytes"}})
    _route(gw, "/rsl-kb", {"name": "request-size-limiting",
                           "config": {"allowed_payload_size": 1, "size_unit": "kilobytes"}})
    gw.wait_sync()
    assert _request(gw, "POST", "/rsl", data=b"x" * 10).status_code == 200
    resp = _request(gw, "POST", "/rsl", data=b"x" * 11)
    assert (resp.status_code, _message(resp)) == (413, "Request size limit exceeded")
    resp = _request(gw, "POST", "/rsl", data=b"x" * 11, headers={"Expect": "100-Continue "})
    assert (resp.status_code, _message(resp)) == (417, "Request size limit exceeded")
    # chunked bodies carry no Content-Length: the body itself is measured
    resp = _request(gw, "POST", "/rsl", data=_chunks(b"y" * 11))
    assert resp.status_code == 413
    resp = _request(gw, "POST", "/rsl", data=_chunks(b"y" * 10))
    assert resp.status_code == 200 and resp.json()["body"] == "y" * 10
    assert _request(gw, "POST", "/rsl-kb", data=b"k" * 1024).status_code == 200
    assert _request(gw, "POST", "/rsl-kb", data=b"k" * 1025).status_code == 413
    # larger than client_body_buffer_size: spooled to a file and measured there
    resp = _request(gw, "POST", "/rsl-kb", data=_chunks(b"z" * 40000, 4096))
    assert resp.status_code == 413
    assert _request(gw, "POST", "/rsl-kb", data=_chunks(b"z" * 1000, 100)).status_code == 200


def test_request_size_limiting_requires_length(gateway):
    gw = gateway
    _route(gw, "/rsl-req", {"name": "request-size-limiting", "config": {
        "allowed_payload_size": 1, "size_unit": "kilobytes", "require_content_length": True}})
    gw.wait_sync()
    resp = _get(gw, "/rsl-req")
    assert (resp.status_code, _message(resp)) == (411, "A valid Content-Length header is required")
    assert _request(gw, "POST", "/rsl-req", data=b"ok").status_code == 200
    assert _request(gw, "POST", "/rsl-req", data=_chunks(b"ok")).status_code == 200
    assert _request(gw, "POST", "/rsl-req", data=_chunks(b"o" * 2000)).status_code == 413


# -- correlation-id -----------------------------------------------------------------

def test_correlation_id(gateway):
    gw = gateway
    _route(gw, "/cid", {"name": "correlation-id"})
    _route(gw, "/cid-uuid", {"name": "correlation-id", "config": {
        "header_name": "X-Cid", "generator": "uuid", "echo_downstream": True}})
    _route(gw, "/cid-tracker", {"name": "correlation-id", "config": {"generator": "tracker"}})
    _route(gw, "/cid-term", {"name": "correlation-id", "config": {"echo_downstream": True}},
           {"name": "request-termination", "config": {"status_code": 401}})
    gw.wait_sync()
    seen = [_get(gw, "/cid").json()["headers"]["kong-request-id"] for _ in range(4)]
    for value in seen:
        assert re.fullmatch(UUID4 + r"#\d+", value), value
    counters = {}
    for value in seen:
        prefix, n = value.split("#")
        counters.setdefault(prefix, []).append(int(n))
    assert all(ns == sorted(ns) and len(set(ns)) == len(ns) for ns in counters.values())
    assert "Kong-Request-ID" not in _get(gw, "/cid").headers

    resp = _get(gw, "/cid-uuid")
    sent = resp.json()["headers"]["x-cid"]
    assert re.fullmatch(UUID4, sent) and resp.headers["X-Cid"] == sent
    assert _get(gw, "/cid-uuid").headers["X-Cid"] != sent
    resp = _get(gw, "/cid-uuid", headers={"X-Cid": "from-client"})
    assert resp.json()["headers"]["x-cid"] == "from-client"
    assert resp.headers["X-Cid"] == "from-client"

    tracker = _get(gw, "/cid-tracker").json()["headers"]["kong-request-id"]
    port = gw.ports["proxy"]
    assert re.fullmatch(rf"127\.0\.0\.1-{port}-\d+-\d+-1-\d+\.\d{{3}}", tracker), tracker

    resp = _get(gw, "/cid-term")
    assert resp.status_code == 401
    assert re.fullmatch(UUID4 + r"#\d+", resp.headers["Kong-Request-ID"])


# -- bot-detection ------------------------------------------------------------------

def _ua(gw: Gateway, path: str, agent: str) -> requests.Response:
    return _get(gw, path, headers={"User-Agent": agent})


def test_bot_detection(gateway):
    gw = gateway
    _route(gw, "/bots", {"name": "bot-detection"})
    _route(gw, "/bots-lists", {"name": "bot-detection", "config": {
        "allow": ["Googlebot"], "deny": ["^curl/", "EvilBrowser"]}})
    gw.wait_sync()
    bots = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "facebookexternalhit/1.1", "Python-urllib/3.11", "Apache-HttpClient/4.5.13",
            "Mozilla/5.0 (compatible; YandexBot/3.0)", "Baiduspider", "ia_archiver",
            "Scrapy/2.11 (+https://scrapy.org)", "my-crawler/1.0"]
    for agent in bots:
        resp = _ua(gw, "/bots", agent)
        assert resp.status_code == 403, agent
        assert _message(resp) == "Forbidden"
    humans = ["curl/8.5.0", "Wget/1.21.4", "python-requests/2.31.0", "HTTPie/3.2.2",
              "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0 Safari/537.36",
              "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36"]
    for agent in humans:
        assert _ua(gw, "/bots", agent).status_code == 200, agent
    assert _ua(gw, "/bots-lists",
               "Mozilla/5.0 (compatible; Googlebot/2.1)").status_code == 200
    assert _ua(gw, "/bots-lists", "curl/8.5.0").status_code == 403
    assert _ua(gw, "/bots-lists", "Mozilla/5.0 EvilBrowser/1").status_code == 403
    assert _ua(gw, "/bots-lists", "bingbot/2.0").status_code == 403
    assert _ua(gw, "/bots-lists", "Wget/1.21").status_code == 200

    conn = http.client.HTTPConnection("127.0.0.1", gw.ports["proxy"], timeout=5)
    try:
        conn.putrequest("GET", "/bots", skip_accept_encoding=True)
        conn.putheader("User-Agent", "curl/8.5.0")
        conn.putheader("User-Agent", "Wget/1.21.4")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 400
        assert json.loads(resp.read())["message"] == "Only one User-Agent header allowed"
    finally:
        conn.close()
