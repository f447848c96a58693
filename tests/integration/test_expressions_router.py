"""`router_flavor = expressions` on a live node: expression routes written
through the Admin API (Kong's 400 for bad expressions, nothing stored),
proxied by the HTTP data plane (fields, strip_path, captures, priority,
the protocol guard, traditional routes below expression routes) and by the
stream data plane."""
from __future__ import annotations

import time

import pytest
import requests

from tests.helpers.http import admin, proxy
from tests.helpers.servers import free_port
from tests.helpers.stream_servers import TcpEchoServer, echo_through

PREFIX = "Router Expression failed validation: "


@pytest.fixture(scope="module")
def tcp_echo():
    server = TcpEchoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def node(start_node, upstream, tcp_echo):
    tcp_port = free_port()
    gw = start_node(workers=1, router_flavor="expressions", allow_debug_header="on",
                    stream_listen=f"127.0.0.1:{tcp_port}")
    gw.tcp_port = tcp_port
    api = admin(gw)
    api.post("/services", {"name": "svc", "url": upstream.url + "/up"})
    routes = {
        "prefix": 'http.path ^= "/pre" && http.method == "GET"',
        "low": 'http.path ^= "/prio"',
        "high": 'http.path ^= "/prio" && http.headers.x_pick == "high"',
        "regex": r'http.path ~ r#"^/items/(?<id>\d+)$"#',
        "query": 'http.path == "/q" && any(http.queries.tag) == "b"',
        "lower": 'lower(http.host) == "upper.test"',
        "src": 'http.path == "/src" && net.src.ip in 127.0.0.0/8',
        "segments": 'http.path.segments.1 == "seg" && http.path.segments.len == 3',
    }
    for name, expression in routes.items():
        body = {"name": name, "expression": expression}
        if name == "high":
            body["priority"] = 10
        if name in ("regex", "query", "src", "segments"):
            body["strip_path"] = False
        api.post("/services/svc/routes", body)
    api.post("/services/svc/routes", {"name": "plain-only", "expression": 'http.path == "/plain"',
                                      "protocols": ["http"], "strip_path": False})
    # a traditional route: compiled as traditional_compatible, below expression routes
    api.post("/services/svc/routes", {"name": "trad", "paths": ["/prio"], "hosts": ["t.test"]})
    api.post("/services", {"name": "tcp", "protocol": "tcp", "host": "127.0.0.1",
                           "port": tcp_echo.port})
    api.post("/services/tcp/routes", {"name": "tcp-expr", "protocols": ["tcp"],
                                      "expression": f"net.dst.port == {tcp_port} && "
                                                    "net.src.ip in 127.0.0.0/8"})
    gw.wait_sync()
    return gw


def _routed(node, path: str, headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(route name, upstream path) of a request; (None, None) on a 404."""
    resp = proxy(node).get(path, headers={"Kong-Debug": "1", **headers})
    if resp.status_code == 404:
        return None, None
    assert resp.status_code == 200, resp.text
    return resp.headers["Kong-Route-Name"], resp.json()["path"]


@pytest.mark.parametrize("path, headers, route, upstream_path", [
    ("/pre/x", {}, "prefix", "/up/x"),             # strip_path strips the ^= literal
    ("/prio/a", {}, "low", "/up/a"),
    ("/prio/a", {"X-Pick": "high"}, "high", "/up/a"),  # priority 10 first
    # a traditional route ranks below every expression route that matches
    ("/prio/a", {"Host": "t.test"}, "low", "/up/a"),
    ("/items/42", {}, "regex", "/up/items/42"),
    ("/items/42/x", {}, None, None),               # the regex is anchored by its author
    ("/q?tag=a&tag=b", {}, "query", "/up/q?tag=a&tag=b"),
    ("/q?tag=a", {}, None, None),
    ("/src", {}, "src", "/up/src"),
    ("/a/seg/c", {}, "segments", "/up/a/seg/c"),
    ("/a/seg", {}, None, None),
    ("/plain", {}, "plain-only", "/up/plain"),
    ("/", {"Host": "UPPER.test"}, "lower", "/up"),
    ("/nothing", {}, None, None),
])
def test_requests_route_by_expression(node, path, headers, route, upstream_path):
    assert _routed(node, path, headers) == (route, upstream_path)


def test_traditional_routes_serve_in_the_expressions_flavour(node):
    api = admin(node)
    api.post("/services/svc/routes", {"name": "trad-only", "paths": ["/trad-only"]})
    node.wait_sync()
    assert _routed(node, "/trad-only/x", {}) == ("trad-only", "/up/x")
    routes = {r["name"]: r for r in api.get("/routes?size=100")["data"]}
    assert routes["high"]["priority"] == 10 and routes["low"]["priority"] == 0
    assert routes["trad"]["expression"] is None and routes["trad"]["priority"] == 0


@pytest.mark.parametrize("body, message", [
    ({"expression": 'http.path = "/a"'},
     PREFIX + ' --> 1:11\n  |\n1 | http.path = "/a"\n  |           ^---\n  |\n'
              '  = expected binary_operator'),
    ({"expression": 'http.nope == "/a"'}, PREFIX + "Unknown LHS field"),
    ({"expression": 'net.dst.port == "80"'},
     PREFIX + "Type mismatch between the LHS and RHS values of predicate"),
    ({"expression": 'http.path == "/a"', "paths": ["/a"]},
     PREFIX + "cannot set 'expression' with 'methods', 'hosts', 'paths', 'headers', "
              "'snis', 'sources' or 'destinations' simultaneously"),
])
def test_bad_expressions_are_refused_and_nothing_is_stored(node, body, message):
    api = admin(node)
    before = api.get("/routes?size=1000")["data"]
    status, answer = api.send("POST", "/services/svc/routes", {"name": "bad", **body})
    assert status == 400, answer
    assert answer["code"] == 2 and answer["name"] == "schema violation"
    assert answer["fields"] == {"@entity": [message]}
    assert answer["message"] == f"schema violation ({message})"
    assert api.get("/routes?size=1000")["data"] == before


def test_the_routes_schema_has_the_flavour_fields(node):
    fields = [next(iter(f)) for f in admin(node).get("/schemas/routes")["fields"]]
    assert fields[-2:] == ["expression", "priority"]


def test_a_stream_route_by_expression(node):
    deadline = time.monotonic() + 10
    got = echo_through(node.tcp_port)
    while got != b"ping\n" and time.monotonic() < deadline:
        time.sleep(0.1)
        got = echo_through(node.tcp_port)
    assert got == b"ping\n", node.error_log_tail()
    status, answer = admin(node).send("POST", "/services/tcp/routes", {
        "protocols": ["tcp"], "expression": 'tls.sni ~ "a"'})
    assert status == 400
    assert answer["fields"] == {"@entity": [
        PREFIX + "Regex operators are not supported on stream routes"]}


def test_the_protocol_guard_holds_across_the_router_cache(node):
    # the http-only route is cached for plain HTTP; a TLS request must not reuse it
    assert _routed(node, "/plain", {}) == ("plain-only", "/up/plain")
    resp = requests.get(node.proxy_ssl + "/plain", verify=False, timeout=10)
    assert resp.status_code == 404, resp.text
    assert _routed(node, "/plain", {}) == ("plain-only", "/up/plain")


def test_an_expression_change_reaches_the_data_plane(node):
    api = admin(node)
    route = api.post("/services/svc/routes", {"name": "moving",
                                              "expression": 'http.path == "/before"'})
    node.wait_sync()
    assert _routed(node, "/before", {})[0] == "moving"
    api.patch(f"/routes/{route['id']}", {"expression": 'http.path == "/after"'})
    node.wait_sync()
    assert _routed(node, "/before", {}) == (None, None)
    assert _routed(node, "/after", {})[0] == "moving"
    # a PATCH that mixes in a traditional field is refused and changes nothing
    status, _ = api.send("PATCH", f"/routes/{route['id']}", {"paths": ["/p"]})
    assert status == 400
    assert api.get(f"/routes/{route['id']}")["expression"] == 'http.path == "/after"'
