"""Proxying through a real nginx: routing, upstream URI, headers, errors."""
from __future__ import annotations

import http.client
import itertools
import json
import re
import socket

import pytest
import requests

from .harness import DataPlane, route, service, snapshot

pytestmark = pytest.mark.integration

_versions = itertools.count(100)
REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def configured(dataplane: DataPlane, upstreams) -> DataPlane:
    a, b = upstreams
    services = [
        service("sa", a.port, path="/s"),
        service("sb", b.port, host="localhost"),
        service("sdead", closed_port()),
        service("sslow", a.port, read_timeout=300),
        service("sdns", 80, host="no-such-host.invalid"),
    ]
    routes = [
        route("ra", "sa", paths=["/r"]),
        route("rb", "sb", paths=["/b"], strip_path=False, preserve_host=True),
        route("rhost", "sb", hosts=["api.example.com"]),
        route("rnone", None, paths=["/nosvc"]),
        route("rdead", "sdead", paths=["/dead"]),
        route("rslow", "sslow", paths=["/sleep"], strip_path=False),
        route("rtls", "sa", paths=["/tls"], protocols=["https"]),
        route("rredir", "sa", paths=["/redir"], protocols=["https"],
              https_redirect_status_code=301),
        route("rdns", "sdns", paths=["/dns"]),
        route("rre", "sa", paths=[r"~/users/\d+"]),
    ]
    version = next(_versions)
    status, body = dataplane.push(snapshot(version, services, routes))
    assert status == 201, body
    dataplane.wait_version(version)
    return dataplane


def test_proxies_to_the_matched_service_with_upstream_headers(configured: DataPlane) -> None:
    r = requests.get(configured.url("/r/x?a=1&b"), headers={"Via": "1.0 edge",
                                                            "X-Forwarded-For": "10.1.1.1"})
    assert r.status_code == 200
    echo = r.json()
    assert echo["name"] == "a"
    assert echo["path"] == "/s/x?a=1&b"
    h = echo["headers"]
    assert h["host"] == f"127.0.0.1:{echo and configured_port(configured, 'sa')}"
    assert h["x-forwarded-for"] == "10.1.1.1, 127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "127.0.0.1"
    assert h["x-forwarded-port"] == str(configured.port)
    assert h["x-forwarded-path"] == "/r/x"
    assert h["x-forwarded-prefix"] == "/r"
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["via"] == "1.0 edge, 1.1 kongpy/0.1.0"
    assert REQUEST_ID.match(h["x-kong-request-id"])
    assert r.headers["X-Kong-Request-Id"] == h["x-kong-request-id"]
    assert r.headers["Via"] == "1.1 kongpy/0.1.0"
    assert r.headers["Server"] == "kongpy/0.1.0"
    assert int(r.headers["X-Kong-Upstream-Latency"]) >= 0
    assert int(r.headers["X-Kong-Proxy-Latency"]) >= 0
    assert "X-Kong-Response-Latency" not in r.headers


def configured_port(dp: DataPlane, sid: str) -> int:
    _, body = dp.control("GET", "/snapshot")
    assert body["version"] is not None
    return _ports[sid]


_ports: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _remember_ports(upstreams) -> None:
    _ports["sa"] = upstreams[0].port
    _ports["sb"] = upstreams[1].port


def test_trailing_bare_question_mark_is_kept(configured: DataPlane) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", configured.port, timeout=5)
    try:
        conn.request("GET", "/r/x?")
        assert json.loads(conn.getresponse().read())["path"] == "/s/x?"
    finally:
        conn.close()


def test_strip_path_false_and_preserve_host(configured: DataPlane) -> None:
    r = requests.get(configured.url("/b/c"), headers={"Host": "client.example:1234"})
    echo = r.json()
    assert echo["name"] == "b"
    assert echo["path"] == "/b/c"
    assert echo["headers"]["host"] == "client.example:1234"
    assert "x-forwarded-prefix" not in echo["headers"]


def test_host_routing_and_hostname_service(configured: DataPlane, upstreams) -> None:
    r = requests.get(configured.url("/any/path"), headers={"Host": "api.example.com"})
    echo = r.json()
    assert echo["name"] == "b"
    assert echo["path"] == "/any/path"
    assert echo["headers"]["host"] == f"localhost:{upstreams[1].port}"


def test_regex_route(configured: DataPlane) -> None:
    r = requests.get(configured.url("/users/42/profile"))
    assert r.json()["path"] == "/s/profile"
    assert requests.get(configured.url("/users/x")).status_code == 404


def test_the_upstreams_copies_of_the_gateway_headers_are_replaced(configured: DataPlane) -> None:
    """Via, the latencies and the request id go out once, the gateway's (nginx
    adds them in location /): the upstream's Via is kept in front of ours."""
    conn = http.client.HTTPConnection("127.0.0.1", configured.port, timeout=10)
    conn.putrequest("GET", "/r/x")
    for copy in ("Via: 1.0 inner", "X-Kong-Request-Id: upstream-id",
                 "X-Kong-Proxy-Latency: 999999", "X-Kong-Upstream-Latency: 999999"):
        conn.putheader("X-Respond-Header", copy)
    conn.endheaders()
    resp = conn.getresponse()
    echo = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert resp.headers.get_all("Via") == ["1.0 inner, 1.1 kongpy/0.1.0"]
    assert resp.headers.get_all("X-Kong-Request-Id") == [echo["headers"]["x-kong-request-id"]]
    for name in ("X-Kong-Proxy-Latency", "X-Kong-Upstream-Latency"):
        [value] = resp.headers.get_all(name)
        assert value != "999999" and int(value) >= 0


def test_path_is_normalised_before_matching(configured: DataPlane) -> None:
    r = requests.get(configured.url("/x/../r//y"))
    assert r.status_code == 200
    assert r.json()["path"] == "/s/y"


def test_no_route_is_404_json(configured: DataPlane) -> None:
    r = requests.get(configured.url("/nothing-here"))
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body == {"message": "no Route matched with those values",
                    "request_id": r.headers["X-Kong-Request-Id"]}
    assert r.headers["Server"] == "kongpy/0.1.0"
    assert int(r.headers["X-Kong-Response-Latency"]) >= 0
    assert r.raw.headers.getlist("X-Kong-Request-Id") == [body["request_id"]]
    for name in ("Via", "X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency"):
        assert name not in r.headers


def test_router_errors_negotiate_on_accept(configured: DataPlane) -> None:
    r = requests.get(configured.url("/nothing-here"), headers={"Accept": "text/html"})
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<p>no Route matched with those values.</p>" in r.text
    r = requests.get(configured.url("/nothing-here"), headers={"Accept": "text/plain"})
    rid = r.headers["X-Kong-Request-Id"]
    assert r.text == f"no Route matched with those values\nrequest_id: {rid}\n"


def test_route_without_service_is_503(configured: DataPlane) -> None:
    r = requests.get(configured.url("/nosvc"))
    assert r.status_code == 503
    assert r.json()["message"] == "no Service found with those values"


def test_connection_refused_is_502_plain_by_default(configured: DataPlane) -> None:
    r = requests.get(configured.url("/dead"), headers={"Accept": None})
    assert r.status_code == 502
    rid = r.headers["X-Kong-Request-Id"]
    assert REQUEST_ID.match(rid)
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.text == ("An invalid response was received from the upstream server\n"
                      f"request_id: {rid}\n")
    assert r.headers["Server"] == "kongpy/0.1.0"


@pytest.mark.parametrize("headers,ctype,needle", [
    ({"Accept": "application/json"}, "application/json; charset=utf-8", '"message":'),
    ({"Accept": None, "Content-Type": "application/xml"}, "application/xml; charset=utf-8",
     "<message>"),
    ({"Accept": "text/html;q=0.5, application/xml;q=0.9"}, "application/xml; charset=utf-8",
     "<requestid>"),
    ({"Accept": "*/*"}, "application/json; charset=utf-8", '"request_id":'),
])
def test_nginx_errors_negotiate(configured: DataPlane, headers, ctype, needle) -> None:
    r = requests.get(configured.url("/dead"), headers=headers)
    assert r.status_code == 502
    assert r.headers["Content-Type"] == ctype
    assert needle in r.text
    if ctype.startswith("application/json"):
        assert json.loads(r.text)["message"] == (
            "An invalid response was received from the upstream server")


def test_upstream_timeout_is_504(configured: DataPlane) -> None:
    r = requests.get(configured.url("/sleep"),
                     headers={"X-Sleep": "1", "Accept": "application/json"})
    assert r.status_code == 504
    assert r.json()["message"] == "The upstream server is timing out"


def test_https_only_route_over_http(configured: DataPlane) -> None:
    r = requests.get(configured.url("/tls"))
    assert r.status_code == 426
    assert r.json()["message"] == "Please use HTTPS protocol"
    assert r.headers["Upgrade"] == "TLS/1.2, HTTP/1.1"
    r = requests.get(configured.url("/redir/x?q=1"), allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["Location"] == "https://127.0.0.1/redir/x?q=1"


def test_name_resolution_failure_is_503(configured: DataPlane) -> None:
    r = requests.get(configured.url("/dns"))
    assert r.status_code == 503
    assert r.json()["message"] == "name resolution failed"


def test_large_header_is_400(configured: DataPlane) -> None:
    r = requests.get(configured.url("/r"), headers={"X-Big": "a" * 20000,
                                                             "Accept": None})
    assert r.status_code == 400
    # nginx answered before the access phase: nginx's own id, the same in
    # the body and the header
    rid = r.headers["X-Kong-Request-Id"]
    assert REQUEST_ID.match(rid)
    assert r.text == f"Request header or cookie too large\nrequest_id: {rid}\n"


def test_request_ids_are_distinct_past_a_pool_refill(configured: DataPlane) -> None:
    """The access phase takes ids from a pool of 256 (kongpy.request_id):
    300 requests on one connection cross a refill; every id is 32 hex
    digits, sent to the upstream as to the client, and none repeats."""
    seen = set()
    with requests.Session() as session:
        for _ in range(300):
            r = session.get(configured.url("/r/x"))
            assert r.status_code == 200
            rid = r.headers["X-Kong-Request-Id"]
            assert REQUEST_ID.match(rid)
            assert r.json()["headers"]["x-kong-request-id"] == rid
            seen.add(rid)
    assert len(seen) == 300


def test_forwarded_headers_trusted_only_from_trusted_ips(short_tmp, upstreams) -> None:
    dp = DataPlane(short_tmp, settings_overrides={"trusted_ips": ["127.0.0.1"]})
    dp.start()
    try:
        svc = [service("s", upstreams[0].port)]
        dp.push(snapshot(1, svc, [route("r", "s", paths=["/t"], protocols=["https"])]))
        dp.wait_version(1)
        r = requests.get(dp.url("/t/a"), headers={
            "X-Forwarded-Proto": "https", "X-Forwarded-Host": "fw.example",
            "X-Forwarded-Port": "443", "X-Forwarded-Prefix": "/outer",
            "X-Forwarded-Path": "/outer/t/a", "Upgrade": "WebSocket",
            "TE": "deflate, Trailers"})
        assert r.status_code == 200
        h = r.json()["headers"]
        assert h["x-forwarded-proto"] == "https"
        assert h["x-forwarded-host"] == "fw.example"
        assert h["x-forwarded-port"] == "443"
        assert h["x-forwarded-prefix"] == "/outer"
        assert h["x-forwarded-path"] == "/outer/t/a"
        assert h["upgrade"] == "websocket"
        assert h["connection"] == "keep-alive, Upgrade"
        assert h["te"] == "trailers"
        r = requests.get(dp.url("/t/a?q=1"), headers={"Upgrade": "h2c", "TE": "deflate",
                                                      "X-Forwarded-Proto": "https"})
        h = r.json()["headers"]
        assert h["x-forwarded-path"] == "/t/a"
        assert h["connection"] == "keep-alive"
        assert "upgrade" not in h and "te" not in h
    finally:
        dp.stop()


def test_forwarded_headers_ignored_from_untrusted_peers(configured: DataPlane) -> None:
    r = requests.get(configured.url("/tls"), headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 426
    r = requests.get(configured.url("/r"), headers={"X-Forwarded-Host": "fw.example"})
    assert r.json()["headers"]["x-forwarded-host"] == "127.0.0.1"
