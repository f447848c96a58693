"""pre-function and post-function through a real node: each phase, Kong's
order, upvalues kept per worker, errors, the sandbox, `untrusted_lua`."""
from __future__ import annotations

import time

import pytest

from tests.helpers.http import admin, proxy

ERR_OFF = ("loading of untrusted Lua code disabled because "
           "'untrusted_lua' config option is set to 'off'")
UNEXPECTED = "An unexpected error occurred"
BOTH = ("pre-function", "post-function")


def _fn(name: str, **phases: list[str]) -> dict:
    return {"name": name, "config": phases}


def _log_after(gw, mark: int) -> str:
    return (gw.prefix / "logs" / "error.log").read_bytes()[mark:].decode(errors="replace")


def _log_size(gw) -> int:
    return (gw.prefix / "logs" / "error.log").stat().st_size


def _wait_log(gw, mark: int, text: str) -> str:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        log = _log_after(gw, mark)
        if text in log:
            return log
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in the error log:\n{_log_after(gw, mark)}")


@pytest.mark.parametrize("name", BOTH)
def test_request_termination(gateway, svc, name):
    gw = gateway
    tag = name[:3]
    gw.route(f"/{tag}-exit", _fn(name, access=["ngx.status = 503\nngx.exit(ngx.status)"]))
    gw.route(f"/{tag}-say", _fn(name, access=[
        'ngx.status = 404\nngx.say("Not Found")\nngx.exit(ngx.status)']))
    gw.route(f"/{tag}-pdk", _fn(name, access=[
        'return kong.response.exit(406, { message = "Invalid" })']))
    gw.route(f"/{tag}-pass", _fn(name, access=["local x = 1"]))
    gw.wait_sync()
    assert proxy(gw).get(f"/{tag}-exit").status_code == 503
    resp = proxy(gw).get(f"/{tag}-say")
    assert (resp.status_code, resp.text) == (404, "Not Found\n")
    resp = proxy(gw).get(f"/{tag}-pdk")
    assert (resp.status_code, resp.json()) == (406, {"message": "Invalid"})
    resp = proxy(gw).get(f"/{tag}-pass")
    assert resp.status_code == 200 and resp.json()["name"] == "upstream"


@pytest.mark.parametrize("name", BOTH)
def test_upvalues_kept_across_requests(gateway, svc, name):
    """A chunk returning a function: the chunk runs once per worker, the
    function on every request, with its upvalues."""
    gw = gateway
    tag = name[:3]
    gw.route(f"/{tag}-upvalues", _fn(name, access=["""
        local count = 0
        kong.log.notice("upvalue chunk initialised")
        return function()
            count = count + 1
            return kong.response.exit(200, { pid = ngx.worker.pid(), count = count })
        end
    """]))
    gw.wait_sync()
    mark = _log_size(gw)
    seen: dict[int, list[int]] = {}
    for _ in range(40):
        body = proxy(gw).get(f"/{tag}-upvalues").json()
        seen.setdefault(body["pid"], []).append(body["count"])
    for counts in seen.values():
        assert counts == list(range(1, len(counts) + 1))  # per worker, never reset
    assert _log_after(gw, mark).count("upvalue chunk initialised") == len(seen)


@pytest.mark.parametrize("name", BOTH)
def test_chunk_runs_on_every_request(gateway, svc, name):
    gw = gateway
    tag = name[:3]
    gw.route(f"/{tag}-count", _fn(name, access=["""
        local count = tonumber(kong.request.get_raw_body()) + 1
        return kong.response.exit(200, tostring(count))
    """]))
    gw.wait_sync()
    count = 0
    for _ in range(5):
        count = int(proxy(gw).post(f"/{tag}-count", data=str(count)).text)
    assert count == 5


def test_every_phase_and_the_order(gateway, svc):
    gw = gateway
    gw.route("/fn-phases",
             _fn("pre-function",
                 access=["kong.ctx.shared.order = 'pre'",
                         "kong.service.request.set_header('X-Pre', 'access')"],
                 header_filter=["kong.response.set_header('X-Pre-Header', 'yes')"],
                 body_filter=["""
                     local body = kong.response.get_raw_body()
                     if body then
                         kong.response.set_raw_body('[' .. body .. ']')
                     end
                 """],
                 log=["kong.log.notice('pre-function log phase ', kong.response.get_status())"]),
             _fn("post-function",
                 access=["kong.ctx.shared.order = kong.ctx.shared.order .. ',post'"],
                 header_filter=["kong.response.set_header('X-Order', kong.ctx.shared.order)",
                                "kong.response.clear_header('Content-Length')"]),
             {"name": "request-termination", "config": {"trigger": "X-Stop"}})
    gw.wait_sync()
    mark = _log_size(gw)
    resp = proxy(gw).get("/fn-phases")
    assert resp.status_code == 200
    assert resp.headers["X-Pre-Header"] == "yes"
    assert resp.headers["X-Order"] == "pre,post"
    assert resp.text.startswith("[{") and resp.text.endswith("}]")
    assert resp.json()[0]["headers"]["x-pre"] == "access"
    _wait_log(gw, mark, "pre-function log phase 200")
    # post-function (-1000) comes after request-termination (2), which ends
    # the request: post-function's access does not run, its header_filter
    # does (as in Kong, every matched instance's later phases run)
    resp = proxy(gw).get("/fn-phases", headers={"X-Stop": "1"})
    assert resp.status_code == 503
    assert resp.headers["X-Pre-Header"] == "yes" and resp.headers["X-Order"] == "pre"


def test_rewrite_runs_for_global_instances(start_node, upstream):
    gw = start_node(workers=1)
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/rw-local", _fn("post-function", rewrite=[
        "kong.service.request.set_header('X-Route-Rewrite', 'ran')"]))
    gw.create("/plugins", _fn("pre-function", rewrite=[
        "kong.service.request.set_header('X-Rewrite', kong.request.get_path())",
        # before routing: the PDK's phase checks name the phase rewrite
        "local ok, err = pcall(kong.router.get_route) "
        "kong.service.request.set_header('X-Router', ok and 'ran' or err)"]))
    gw.wait_sync()
    headers = proxy(gw).get("/rw-local").json()["headers"]
    assert headers["x-rewrite"] == "/rw-local"
    assert "x-route-rewrite" not in headers  # rewrite: global instances only
    assert "cannot be called in rewrite phase" in headers["x-router"]


@pytest.mark.parametrize("name", BOTH)
def test_runtime_error_is_a_500(gateway, svc, name):
    gw = gateway
    tag = name[:3]
    gw.route(f"/{tag}-error", _fn(name, access=[
        'error("this should stop the request with a 500")']))
    gw.wait_sync()
    mark = _log_size(gw)
    for _ in range(3):
        resp = proxy(gw).get(f"/{tag}-error")
        assert (resp.status_code, resp.json()["message"]) == (500, UNEXPECTED)
        assert resp.json()["request_id"] == resp.headers["X-Kong-Request-Id"]
    log = _wait_log(gw, mark, "this should stop the request with a 500")
    line = next(x for x in log.splitlines() if "this should stop the request" in x)
    assert "[error]" in line and "runtime error" in line
    # the workers are alive and serve the other routes
    assert proxy(gw).get(f"/{tag}-pass").status_code == 200
    assert "exited on signal" not in _log_after(gw, 0)


ESCAPES = {
    "execute": ("os.execute('touch /tmp/kongpy-escape')", "attempt to call field 'execute'"),
    "io_open": ("io.open('/etc/passwd')", "attempt to call field 'open'"),
    "require": ("require('ffi')", "require 'ffi' not allowed within sandbox"),
    "load": ("load('return 1')", "attempt to call global 'load'"),
    "kong_write": ("kong.response.exit = nil",
                   "Cannot modify kong.response.exit. Protected by the sandbox."),
}


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_sandbox_refuses_escapes(gateway, svc, escape):
    gw = gateway
    code, message = ESCAPES[escape]
    gw.route(f"/escape-{escape}", _fn("pre-function", access=[code]))
    gw.wait_sync()
    mark = _log_size(gw)
    resp = proxy(gw).get(f"/escape-{escape}")
    assert (resp.status_code, resp.json()["message"]) == (500, UNEXPECTED)
    _wait_log(gw, mark, message)


def test_untrusted_lua_on(start_node, upstream):
    gw = start_node(workers=1, untrusted_lua="on")
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/on", _fn("pre-function", access=[
        "return kong.response.exit(200, { ffi = type(require('ffi').new) })"]))
    gw.wait_sync()
    assert proxy(gw).get("/on").json() == {"ffi": "function"}


def test_untrusted_lua_off_refused_by_the_admin_api(start_node):
    gw = start_node(workers=1, untrusted_lua="off")
    for name in BOTH:
        body = admin(gw).post("/plugins", _fn(name, access=["local x = 1"]), 400)
        assert body["fields"] == {"config": {"access": [ERR_OFF]}}
    assert admin(gw).get("/plugins")["data"] == []


def test_gateway_headers_come_after_the_plugins(gateway, svc):
    # Kong's header_filter order: the latency, Via, Server and request id
    # headers are set after the plugins' header_filter, so a plugin neither
    # sees them nor removes them; a Server it removed is the gateway's again
    gw = gateway
    gw.route("/fn-after", _fn("post-function", header_filter=[
        "kong.response.set_header('X-Seen', tostring(kong.response.get_header("
        "'X-Kong-Proxy-Latency')) .. ',' .. tostring(kong.response.get_header('Via')))",
        "kong.response.clear_header('X-Kong-Request-Id') kong.response.clear_header('Server')"]))
    gw.wait_sync()
    resp = proxy(gw).get("/fn-after")
    assert resp.status_code == 200
    assert resp.headers["X-Seen"] == "nil,nil"
    assert int(resp.headers["X-Kong-Proxy-Latency"]) >= 0
    assert resp.headers["Via"].startswith("1.1 kongpy/")
    assert resp.headers["Server"].startswith("kongpy/")
    assert len(resp.headers["X-Kong-Request-Id"]) == 32


@pytest.mark.parametrize("snippet, path", [
    ("ngx.var.args = nil", "/"),
    ('ngx.var.args = "x=1&y"', "/?x=1&y"),
    ('ngx.req.set_uri_args({ z = "2" })', "/?z=2"),
    # the path alone, as Kong's plugins set it: the query still follows
    ('ngx.var.upstream_uri = "/moved"', "/moved?a=b"),
    ('kong.service.request.set_path("/p") ngx.req.set_uri_args({ q = "1" })', "/p?q=1"),
])
def test_the_query_a_snippet_sets_is_the_upstreams(gateway, svc, snippet, path):
    """Kong builds the upstream query from the request's args after access
    (Kong's #9246: clearing them sends none)."""
    gw = gateway
    route = "/args-" + str(abs(hash(snippet)))
    gw.route(route, _fn("pre-function", access=[snippet]))
    gw.wait_sync()
    resp = proxy(gw).get(route + "?a=b")
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == path


def test_snippets_read_kong_configuration(gateway, svc):
    """kong.configuration holds the properties as configured: `plugins` is
    the list given (`bundled`), not its expansion; secrets are masked."""
    gw = gateway
    gw.route("/conf-plugins", _fn("pre-function", access=[
        "ngx.say(kong.configuration.plugins[1])\nngx.exit(200)"]))
    gw.wait_sync()
    resp = proxy(gw).get("/conf-plugins")
    assert (resp.status_code, resp.text) == (200, "bundled\n")
