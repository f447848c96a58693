"""Routing differences Kong's own router scenarios found, each a table run
against a real node: dot segments left by strip_path, wildcard SNIs, hosts
with a port, the debug headers, and the latency headers of a 502."""
from __future__ import annotations

import http.client
import json
import socket
import ssl

import pytest

from tests.helpers.http import admin


@pytest.fixture(scope="module")
def node(start_node, upstream):
    gw = start_node(workers=1, allow_debug_header="on")
    api = admin(gw)
    api.post("/services", {"name": "svc", "url": upstream.url + "/service"})
    api.post("/services/svc/routes", {"name": "dots", "paths": ["/route"]})
    for name, hosts in (("any-port", ["domain-1.org", "domain-2.org"]),
                        ("with-port", ["domain-1.org:321", "domain-2.org"]),
                        ("only-port", ["domain-3.org:321"])):
        api.post("/services/svc/routes", {"name": name, "hosts": hosts})
    for name, snis in (("suffix", ["*.foo.test"]), ("prefix", ["bar.*"]),
                       ("exact", ["exact.test"])):
        api.post("/services/svc/routes", {"name": name, "snis": snis, "paths": ["/tls"],
                                          "protocols": ["https"]})
    api.post("/services/svc/routes", {"name": "no-sni", "paths": ["/tls"],
                                      "protocols": ["https"]})
    api.post("/routes", {"name": "serviceless", "paths": ["/serviceless"]})
    route = api.post("/services/svc/routes", {"name": "guarded", "paths": ["/guarded"]})
    api.post(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    api.post("/services", {"name": "down", "url": "http://127.0.0.1:9/"})
    api.post("/services/down/routes", {"name": "down", "paths": ["/down"]})
    gw.wait_sync()
    return gw


def _get(node, path: str, headers: dict[str, str] | None = None):
    """A request sent as written (no client-side normalisation of the path)."""
    conn = http.client.HTTPConnection("127.0.0.1", node.ports["proxy"], timeout=10)
    try:
        conn.putrequest("GET", path, skip_host="Host" in (headers or {}),
                        skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path, upstream_path", [
    ("/route/req", "/service/req"),
    ("/route./req", "/service/req"),
    ("/route../req", "/service/req"),
    ("/route%2E/req", "/service/req"),
    ("/route%2e/req", "/service/req"),
    ("/route%2E%2E/req", "/service/req"),
    ("/route%2e%2e/req", "/service/req"),
    ("/route.%2e/req", "/service/req"),
    ("/route.", "/service"),
    ("/route..", "/service"),
    ("/route./req?a=1", "/service/req?a=1"),
    ("/route.x/req", "/service/.x/req"),
    ("/route.../req", "/service/.../req"),
])
def test_dot_segments_left_by_strip_path(node, path, upstream_path):
    status, _, body = _get(node, path)
    assert status == 200, body
    assert json.loads(body)["path"] == upstream_path


def _tls_get(node, sni: str, path: str = "/tls") -> tuple[int, dict[str, str]]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", node.ports["proxy_ssl"]), timeout=10)
    with context.wrap_socket(raw, server_hostname=sni) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nKong-Debug: 1\r\n"
                     "Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), headers


@pytest.mark.parametrize("sni, route", [
    ("a.foo.test", "suffix"),
    ("a.b.foo.test", "suffix"),
    ("foo.test", "no-sni"),
    ("xfoo.test", "no-sni"),
    ("bar.test", "prefix"),
    ("bar.x.org", "prefix"),
    ("foobar.test", "no-sni"),
    ("exact.test", "exact"),
    ("other.test", "no-sni"),
])
def test_wildcard_snis_match_the_names_they_cover(node, sni, route):
    status, headers = _tls_get(node, sni)
    assert status == 200
    assert headers["Kong-Route-Name"] == route


@pytest.mark.parametrize("host, route", [
    ("domain-1.org:321", "with-port"),
    ("domain-1.org", "any-port"),
    ("domain-1.org:80", "any-port"),
    ("domain-1.org:123", "any-port"),
    ("domain-3.org:321", "only-port"),
    ("domain-3.org:123", None),
    ("domain-3.org", None),
])
def test_hosts_with_a_port_use_the_host_headers_port(node, host, route):
    status, headers, body = _get(node, "/", {"Host": host, "Kong-Debug": "1"})
    if route is None:
        assert status == 404, body
        assert headers["Kong-Route-Name"] is None
    else:
        assert status == 200, body
        assert headers["Kong-Route-Name"] == route


@pytest.mark.parametrize("path, status, route, service", [
    ("/route/x", 200, "dots", "svc"),
    ("/guarded", 401, "guarded", "svc"),
    ("/serviceless", 503, "serviceless", None),
    ("/down", 502, "down", "down"),
    ("/nothing-here", 404, None, None),
])
def test_debug_headers_name_the_route_and_service(node, path, status, route, service):
    ids = {r["name"]: r for r in admin(node).get("/routes")["data"]}
    services = {s["name"]: s for s in admin(node).get("/services")["data"]}
    got, headers, body = _get(node, path, {"Kong-Debug": "1"})
    assert got == status, body
    assert headers["Kong-Route-Id"] == (ids[route]["id"] if route else None)
    assert headers["Kong-Route-Name"] == route
    assert headers["Kong-Service-Id"] == (services[service]["id"] if service else None)
    assert headers["Kong-Service-Name"] == service
    # without the request header, nothing
    got, headers, _ = _get(node, path)
    assert got == status
    assert not [h for h in headers if h.lower().startswith("kong-")]


def test_debug_headers_on_an_http10_request_without_host(node):
    with socket.create_connection(("127.0.0.1", node.ports["proxy"]), timeout=10) as sock:
        sock.sendall(b"GET /route/x HTTP/1.0\r\nKong-Debug: 1\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 200"), head
    assert "\r\nKong-Route-Name: dots\r\n" in head
    assert "\r\nKong-Service-Name: svc\r\n" in head


def test_debug_headers_are_off_by_default(gateway, upstream):
    gateway.proxied("debug-off", upstream.url, "/debug-off")
    status, headers, _ = _get(gateway, "/debug-off", {"Kong-Debug": "1"})
    assert status == 200
    assert headers["Kong-Route-Id"] is None and headers["Kong-Service-Id"] is None


def test_a_502_after_a_try_reports_upstream_and_proxy_latency(node):
    status, headers, body = _get(node, "/down")
    assert status == 502, body
    assert int(headers["X-Kong-Upstream-Latency"]) >= 0
    assert int(headers["X-Kong-Proxy-Latency"]) >= 0
    assert headers["X-Kong-Response-Latency"] is None
    # a response of the gateway's own, no upstream tried: the reverse
    status, headers, _ = _get(node, "/serviceless")
    assert status == 503
    assert int(headers["X-Kong-Response-Latency"]) >= 0
    assert headers["X-Kong-Upstream-Latency"] is None
    assert headers["X-Kong-Proxy-Latency"] is None


def _raw_head(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()


def test_headers_off_silences_the_admin_api_too(start_node):
    # a list mixing `off` with other tokens starts, as Kong's does: `off`
    # first turns every header off
    quiet = start_node(workers=1, headers="off, server_tokens, latency_tokens")
    for path in ("/status", "/nope"):
        head = _raw_head(quiet.ports["admin"], f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n".encode())
        assert "\r\nserver:" not in head and "x-kong-admin-latency" not in head, head
    head = _raw_head(quiet.ports["proxy"], b"GET /none HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
    assert head.startswith("http/1.1 404")
    assert "\r\nserver:" not in head and "latency" not in head, head
