"""The expressions table (kong-reference §10.2-10.5): every field and operator,
true and false, precedence, lower(), any(), multi-valued fields, missing
values, IP/CIDR, stream fields, priority order.

Each expression is parsed by the control plane (kongpy/schemas/expressions.py,
as the sync encoder ships it) and evaluated by the data planes' real Lua
(kongpy.router, kongpy.stream.router) inside a throw-away nginx, so ngx.re is
the real PCRE binding: tests/lua/expressions_driver.lua.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import lua_nginx

from kongpy.schemas.expressions import compile_route

REPO = lua_nginx.REPO
NGINX = lua_nginx.NGINX

CONF = lua_nginx.MAIN + """http {{
    lua_package_path '{repo}/lua/?.lua;{repo}/lua/?/init.lua;{repo}/tests/lua/?.lua;;';
    lua_shared_dict kongpy_snapshot 1m;
    lua_shared_dict kongpy_cache 1m;
    lua_shared_dict kongpy_health 1m;
    init_by_lua_block {{
        local ok, err = pcall(require("expressions_driver").run,
                              "{tmp}/cases.json", "{tmp}/results.json")
        if not ok then io.stderr:write(tostring(err), "\\n") end
        os.exit(ok and 0 or 1)
    }}
}}
"""

# (expression, request, matches)
TABLE: list[tuple[str, dict[str, Any], bool]] = [
    # http.path: == != ^= =^ ~ contains
    ('http.path == "/a"', {"path": "/a"}, True),
    ('http.path == "/a"', {"path": "/a/"}, False),
    ('http.path != "/a"', {"path": "/b"}, True),
    ('http.path != "/a"', {"path": "/a"}, False),
    ('http.path ^= "/api"', {"path": "/api/x"}, True),
    ('http.path ^= "/api"', {"path": "/ap"}, False),
    ('http.path =^ ".json"', {"path": "/x.json"}, True),
    ('http.path =^ ".json"', {"path": "/x.xml"}, False),
    ('http.path contains "mid"', {"path": "/a/middle"}, True),
    ('http.path contains "mid"', {"path": "/a/b"}, False),
    # regexes are unanchored
    ('http.path ~ "/v[0-9]+/"', {"path": "/api/v12/x"}, True),
    ('http.path ~ "^/v[0-9]+/"', {"path": "/api/v12/x"}, False),
    ('http.path ~ r#"^/users/\\d+$"#', {"path": "/users/42"}, True),
    ('http.path ~ r#"^/users/\\d+$"#', {"path": "/users/42/x"}, False),
    # http.method, http.host
    ('http.method == "POST"', {"method": "POST"}, True),
    ('http.method == "POST"', {"method": "GET"}, False),
    ('http.host == "a.test"', {"host": "a.test"}, True),
    ('http.host =^ ".test"', {"host": "b.example"}, False),
    # lower()
    ('lower(http.path) == "/abc"', {"path": "/ABC"}, True),
    ('http.path == "/abc"', {"path": "/ABC"}, False),
    ('lower(http.headers.x_v) == "on"', {"headers": {"x-v": "ON"}}, True),
    # headers: name lower case, "-" as "_"; several values: all must pass
    ('http.headers.x_foo_bar == "1"', {"headers": {"X-Foo-Bar": "1"}}, True),
    ('http.headers.x_foo_bar == "1"', {"headers": {"x-foo-bar": "2"}}, False),
    ('http.headers.x_m == "1"', {"headers": {"x-m": ["1", "1"]}}, True),
    ('http.headers.x_m == "1"', {"headers": {"x-m": ["1", "2"]}}, False),
    ('any(http.headers.x_m) == "1"', {"headers": {"x-m": ["2", "1"]}}, True),
    ('any(http.headers.x_m) == "1"', {"headers": {"x-m": ["2", "3"]}}, False),
    # a missing value makes every predicate false, != included
    ('http.headers.x_none != "1"', {"headers": {}}, False),
    ('!(http.headers.x_none == "1")', {"headers": {}}, True),
    # queries: several values, bare `?a` is ""
    ('http.queries.a == "1"', {"queries": {"a": "1"}}, True),
    ('http.queries.a == "1"', {"queries": {"a": ["1", "2"]}}, False),
    ('any(http.queries.a) == "2"', {"queries": {"a": ["1", "2"]}}, True),
    ('http.queries.a == ""', {"queries": {"a": True}}, True),
    ('http.queries.b == "1"', {"queries": {"a": "1"}}, False),
    # path segments
    ('http.path.segments.0 == "a"', {"path": "/a/b/c"}, True),
    ('http.path.segments.1 == "a"', {"path": "/a/b/c"}, False),
    ('http.path.segments.1_2 == "b/c"', {"path": "/a/b/c"}, True),
    ('http.path.segments.1_3 == "b/c"', {"path": "/a/b/c"}, False),
    ('http.path.segments.len == 3', {"path": "/a/b/c"}, True),
    ('http.path.segments.len == 1', {"path": "/foo/"}, True),
    ('http.path.segments.len > 2', {"path": "/a/b"}, False),
    # integers: == != > >= < <=
    ('net.dst.port == 8000', {"port": 8000}, True),
    ('net.dst.port != 8000', {"port": 8000}, False),
    ('net.dst.port > 7999', {"port": 8000}, True),
    ('net.dst.port >= 8001', {"port": 8000}, False),
    ('net.dst.port < 8001', {"port": 8000}, True),
    ('net.dst.port <= 7999', {"port": 8000}, False),
    ('net.src.port == 0x10', {"src_port": 16}, True),
    ('net.src.port == 010', {"src_port": 8}, True),
    # IP and CIDR
    ('net.src.ip == 10.0.0.1', {"src_ip": "10.0.0.1"}, True),
    ('net.src.ip != 10.0.0.1', {"src_ip": "10.0.0.1"}, False),
    ('net.src.ip in 10.0.0.0/8', {"src_ip": "10.2.3.4"}, True),
    ('net.src.ip in 10.0.0.0/8', {"src_ip": "11.2.3.4"}, False),
    ('net.src.ip not in 10.0.0.0/8', {"src_ip": "11.2.3.4"}, True),
    ('net.src.ip not in 10.0.0.0/8', {"src_ip": "::1"}, False),
    ('net.dst.ip in 2001:db8::/32', {"dst_ip": "2001:db8::5"}, True),
    ('net.dst.ip == ::1', {"dst_ip": "::1"}, True),
    # net.protocol, tls.sni (TLS only)
    ('net.protocol == "https"', {"https": True}, True),
    ('net.protocol == "https"', {"https": False}, False),
    ('tls.sni == "s.test"', {"https": True, "sni": "s.test"}, True),
    ('tls.sni == "s.test"', {"https": False, "sni": "s.test"}, False),
    # precedence: || binds tighter than &&
    ('http.method == "GET" && http.path == "/x" || http.path == "/y"',
     {"method": "POST", "path": "/y"}, False),
    ('http.method == "GET" && http.path == "/x" || http.path == "/y"',
     {"method": "GET", "path": "/y"}, True),
    ('http.path == "/y" || http.path == "/x" && http.method == "GET"',
     {"method": "POST", "path": "/y"}, False),
    ('(http.path == "/y" || http.path == "/x") && http.method == "GET"',
     {"method": "GET", "path": "/x"}, True),
    ('!(http.method == "GET") && http.path ^= "/"', {"method": "GET"}, False),
    ('!(http.method == "GET") && http.path ^= "/"', {"method": "PUT"}, True),
]


def _route(rid: str, expression: str, **extra: Any) -> dict[str, Any]:
    row = {"id": rid, "expression": expression, "protocols": ["http", "https"],
           "priority": 0, "strip_path": True, "service": {"id": "s1"}, **extra}
    row["expression_tree"] = compile_route(row)
    assert row["expression_tree"] is not None, expression
    return row


def _run(cases: list[dict[str, Any]], tmp: Path) -> list[Any]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is required to run the Lua evaluators")
    (tmp / "cases.json").write_text(json.dumps(cases))
    conf = tmp / "nginx.conf"
    conf.write_text(CONF.format(tmp=tmp, repo=REPO))
    proc = subprocess.run([NGINX, "-p", str(tmp), "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp / "results.json").read_text())


@pytest.fixture(scope="module")
def table_results(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    cases = [{"routes": [_route("r", expr)], "requests": [req]} for expr, req, _ in TABLE]
    return _run(cases, tmp_path_factory.mktemp("expr"))


@pytest.mark.parametrize("index", range(len(TABLE)), ids=[f"{e} {r}" for e, r, _ in TABLE])
def test_expression_table(table_results: list[Any], index: int) -> None:
    expression, req, want = TABLE[index]
    got = table_results[index]
    assert "error" not in got, got
    assert (got[0][0] == "r") is want, (expression, req, got)


def test_priority_id_order_strip_and_captures(tmp_path: Path) -> None:
    routes = [
        _route("a1", 'http.path ^= "/pri"', priority=1),
        _route("a2", 'http.path ^= "/pri"', priority=5),
        _route("b1", 'http.path ^= "/tie"'),
        _route("b2", 'http.path ^= "/tie"'),
        _route("c", r'http.path ~ r#"^/re/(?<num>\d+)"#'),
        _route("d", 'http.path =^ "/end"'),
        # an https-only route: no protocol guard (Kong's redirect)
        _route("e", 'http.path == "/secure"', protocols=["https"]),
        # an http-only route: the guard refuses TLS requests
        _route("f", 'http.path == "/plain"', protocols=["http"]),
    ]
    # a traditional route in the expressions flavour ranks below every expression route
    trad = {"id": "zz", "paths": ["/pri"], "methods": ["GET"], "protocols": ["http", "https"],
            "strip_path": True, "service": {"id": "s1"}}
    requests = [{"path": "/pri/x"}, {"path": "/tie"}, {"path": "/re/42/x"},
                {"path": "/x/end"}, {"path": "/secure"}, {"path": "/plain", "https": True},
                {"path": "/plain"}]
    (got,) = _run([{"routes": routes + [trad], "requests": requests}], tmp_path)
    assert got[0][:2] == ["a2", "/pri"]
    assert got[1][:2] == ["b2", "/tie"]
    assert got[2][0] == "c" and got[2][1] == "/re/42"
    assert got[2][2]["num"] == "42" and got[2][2]["1"] == "42"
    assert got[3][:2] == ["d", "/end"]
    assert got[4][0] == "e"
    assert got[5][0] is False and got[6][0] == "f"


def test_upstream_paths_and_path_handling_v1_ignored(tmp_path: Path) -> None:
    routes = [
        _route("strip", 'http.path ^= "/s"'),
        _route("v1", 'http.path ^= "/v"', strip_path=False, path_handling="v1",
               service={"id": "s2"}),
        _route("re", r'http.path ~ r#"^/re/\d+"#'),
    ]
    (got,) = _run([{"routes": routes, "requests": [{"path": "/s/x"}, {"path": "/v/x"},
                                                   {"path": "/re/12/rest"}]}], tmp_path)
    assert [(g[0], g[3]) for g in got] == [
        ("strip", "/x"), ("v1", "/base/v/x"), ("re", "/rest")]


def test_traditional_routes_still_match_in_the_expressions_flavour(tmp_path: Path) -> None:
    trad = {"id": "t", "paths": ["/t"], "protocols": ["http", "https"], "strip_path": True,
            "service": {"id": "s1"}}
    (got,) = _run([{"routes": [_route("e", 'http.path == "/e"'), trad],
                    "requests": [{"path": "/t/x"}, {"path": "/e"}, {"path": "/other"}]}],
                  tmp_path)
    assert [g[0] for g in got] == ["t", "e", False]


def test_stream_expression_routes(tmp_path: Path) -> None:
    def stream(rid: str, expression: str, protocols: list[str], **extra: Any) -> dict:
        row = {"id": rid, "expression": expression, "protocols": protocols, "priority": 0,
               **extra}
        row["expression_tree"] = compile_route(row)
        assert row["expression_tree"] is not None
        return row
    routes = [
        stream("s-port", "net.dst.port == 9000", ["tcp"]),
        stream("s-src", "net.src.ip in 10.0.0.0/8 && net.dst.port == 9000", ["tcp"],
               priority=3),
        stream("s-sni", 'tls.sni =^ ".sni.test"', ["tls"]),
        stream("s-udp", 'net.protocol == "udp" && net.dst.port == 9000', ["udp"]),
        {"id": "s-trad", "protocols": ["tcp"], "destinations": [{"port": 9001}]},
    ]
    conns = [
        {"protocol": "tcp", "src_ip": "127.0.0.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9000},
        {"protocol": "tcp", "src_ip": "10.1.1.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9000},
        {"protocol": "tls", "src_ip": "127.0.0.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9443, "sni": "a.sni.test"},
        {"protocol": "udp", "src_ip": "127.0.0.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9000},
        {"protocol": "tcp", "src_ip": "127.0.0.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9001},
        {"protocol": "tcp", "src_ip": "127.0.0.1", "src_port": 5, "dst_ip": "127.0.0.1",
         "dst_port": 9002},
    ]
    (got,) = _run([{"stream": True, "routes": routes, "requests": conns}], tmp_path)
    assert [g[0] for g in got] == ["s-port", "s-src", "s-sni", "s-udp", "s-trad", False]
