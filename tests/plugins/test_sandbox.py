"""Untrusted Lua (kong.tools.sandbox) through live nodes: the sandbox-probe
fixture plugin (tests/fixtures/plugins/kong/plugins/sandbox-probe/) has a
``lua_code`` field and runs each snippet as Kong's loggers run
``custom_fields_by_lua``, answering with each result or error, its worker's
pid and how many chunks that worker compiled."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
ERR_OFF = ("loading of untrusted Lua code disabled because "
           "'untrusted_lua' config option is set to 'off'")
NODE = {"plugins": "bundled, sandbox-probe", "plugins_path": str(FIXTURE_PLUGINS)}


def _probe(gw, path: str, snippets: dict[str, str]) -> None:
    gw.create("/services", {"name": path.strip("/"), "url": "http://127.0.0.1:9"})
    gw.route(path, {"name": "sandbox-probe", "config": {"custom_fields_by_lua": snippets}},
             service=path.strip("/"))
    gw.wait_sync()


def _run(gw, path: str) -> dict:
    resp = proxy(gw).get(path)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def sandboxed(start_node):
    """The default mode, one require and two globals allowed, one worker."""
    return start_node(workers=1, **NODE,
                      untrusted_lua_sandbox_requires="kong.tools.string",
                      untrusted_lua_sandbox_environment="os.getenv, ngx.shared")


ESCAPES = {
    "execute": ("return os.execute('true')", "attempt to call field 'execute'"),
    "io_open": ("return io.open('/etc/passwd')", "attempt to call field 'open'"),
    "require": ("return require('ffi')", "require 'ffi' not allowed within sandbox"),
    "load": ("return load('return 1')", "attempt to call global 'load'"),
    "dump": ("return string.dump(print)", "attempt to call field 'dump'"),
    "setmetatable": ("return setmetatable(ngx, {})", "attempt to call global 'setmetatable'"),
    "getfenv": ("return getfenv(0)", "attempt to call global 'getfenv'"),
    "kong_write": ("kong.response.exit = nil",
                   "Cannot modify kong.response.exit. Protected by the sandbox."),
    "ngx_write": ("ngx.say = nil", "Cannot modify ngx.say. Protected by the sandbox."),
    "string_write": ("string.upper = nil", "Cannot modify string.upper. Protected by the sandbox."),
}


def test_sandbox_refuses_escapes(sandboxed) -> None:
    _probe(sandboxed, "/escapes", {k: code for k, (code, _) in ESCAPES.items()})
    body = _run(sandboxed, "/escapes")
    assert body["results"] == {}
    for key, (_, message) in ESCAPES.items():
        assert message in body["errors"][key], (key, body["errors"][key])
    # the real tables were left alone: the plugin's own exit still works
    assert _run(sandboxed, "/escapes")["errors"].keys() == ESCAPES.keys()


def test_sandbox_allows_the_whitelist_and_the_listed_extras(sandboxed) -> None:
    _probe(sandboxed, "/allowed", {
        "method": "return kong.request.get_method()",
        "header": "return kong.request.get_header('x-probe')",
        "var": "return ngx.var.uri",
        "string": "return string.upper(string.rep('a', 2))",
        "required": "return type(require('kong.tools.string').strip)",
        "getenv": "return type(os.getenv)",
        "shared": "return type(ngx.shared.kongpy_cache.get)",
        "ctx": "kong.ctx.shared.seen = 'yes'; return kong.ctx.shared.seen",
        # methods run on the real objects; kong.log stays callable
        "cache": "return kong.cache:get('sandbox-k', nil, function() return 'loaded' end)",
        "log": "kong.log('from the sandbox'); kong.log.inspect('x'); return 'logged'",
    })
    resp = proxy(sandboxed).get("/allowed", headers={"X-Probe": "hi"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["errors"] == {}
    assert body["results"] == {"method": "GET", "header": "hi", "var": "/allowed",
                               "string": "AA", "required": "function",
                               "getenv": "function", "shared": "function", "ctx": "yes",
                               "cache": "loaded", "log": "logged"}


def test_same_code_compiled_once_per_worker(sandboxed) -> None:
    snippets = {"a": "return 'cache-a'", "b": "return 'cache-b'"}
    _probe(sandboxed, "/cached", snippets)
    first = _run(sandboxed, "/cached")
    assert first["results"] == {"a": "cache-a", "b": "cache-b"}
    for _ in range(5):
        again = _run(sandboxed, "/cached")
        assert again["pid"] == first["pid"]  # one worker
        assert again["compiled"] == first["compiled"]


def test_compile_error_is_a_schema_violation(sandboxed) -> None:
    body = admin(sandboxed).post("/plugins", {
        "name": "sandbox-probe", "config": {"custom_fields_by_lua": {"bad": "return ("}}}, 400)
    assert body["name"] == "schema violation" and body["code"] == 2
    # Kong reports a map value's error on the map itself
    assert body["fields"] == {"config": {"custom_fields_by_lua":
                                         "Error parsing function: [string \"return (\"]:1: "
                                         "unexpected symbol near '<eof>'"}}


def test_on_gives_the_whole_environment(start_node) -> None:
    gw = start_node(workers=1, untrusted_lua="on", **NODE)
    _probe(gw, "/on", {"ffi": "return type(require('ffi').new)",
                       "execute": "return type(os.execute)",
                       "global": "leak = 1; return type(_G.leak)"})
    body = _run(gw, "/on")
    assert body["errors"] == {}
    assert body["results"] == {"ffi": "function", "execute": "function", "global": "nil"}


def test_off_refuses_at_configuration_time_and_at_runtime(start_node) -> None:
    gw = start_node(workers=1, **NODE)
    _probe(gw, "/off", {"x": "return 1"})
    assert _run(gw, "/off")["results"] == {"x": 1}
    # the same stored configuration, the node restarted with untrusted_lua = off
    gw.stop()
    gw.settings["untrusted_lua"] = "off"
    gw.write_conf()
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    body = admin(gw).post("/plugins", {
        "name": "sandbox-probe", "config": {"custom_fields_by_lua": {"x": "return 1"}}}, 400)
    assert body["fields"] == {"config": {"custom_fields_by_lua":
                                         "Error parsing function: " + ERR_OFF}}
    assert _run(gw, "/off")["errors"] == {"x": ERR_OFF}
