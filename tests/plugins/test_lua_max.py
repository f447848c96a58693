"""Kong's lua_max_req_headers, lua_max_resp_headers, lua_max_uri_args and
lua_max_post_args through a real node: the PDK and plugins calling the Lua
module's parsers without a limit get the configured one, a result cut short
is logged at notice level in Kong's words, and proxying still sends every
header and argument upstream."""
from __future__ import annotations

import json

import pytest

from tests.helpers.http import proxy

LIMITS = {"lua_max_req_headers": "5", "lua_max_resp_headers": "6",
          "lua_max_uri_args": "3", "lua_max_post_args": "2"}

# counts what each parser returns, as response headers
COUNT = """
local function n(t) local c = 0 for _ in pairs(t) do c = c + 1 end return c end
kong.ctx.shared.counts = {
  kong_headers = n(kong.request.get_headers()), ngx_headers = n(ngx.req.get_headers()),
  kong_query = n(kong.request.get_query()), ngx_query = n(ngx.req.get_uri_args()),
  kong_body = n(kong.request.get_body()), decode = n(ngx.decode_args("a=1&b=2&c=3&d=4&e=5")),
}
"""
RESPONSE = """
local function n(t) local c = 0 for _ in pairs(t) do c = c + 1 end return c end
local counts = kong.ctx.shared.counts or {}
counts.kong_resp = n(kong.response.get_headers())
counts.ngx_resp = n(ngx.resp.get_headers())
kong.response.set_header("X-Counts", require("cjson").encode(counts))
"""


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(untrusted_lua="on", **LIMITS)


def test_parsers_default_to_the_configured_limits(gateway, svc):
    gw = gateway
    gw.route("/lua-max", {"name": "pre-function",
                          "config": {"access": [COUNT], "header_filter": [RESPONSE]}})
    gw.wait_sync()
    mark = (gw.prefix / "logs" / "error.log").stat().st_size
    headers = {f"X-H{i}": str(i) for i in range(8)}
    # the echo upstream adds a response header per `header` argument
    extra = "".join(f"&header=X-R{i}:{i}" for i in range(4))
    resp = proxy(gw).post("/lua-max?q1=1&q2=2&q3=3&q4=4&q5=5" + extra, headers=headers,
                          data={"f1": "1", "f2": "2", "f3": "3"})
    assert resp.status_code == 200, resp.text
    counts = json.loads(resp.headers["X-Counts"])
    assert counts == {"kong_headers": 5, "ngx_headers": 5, "kong_query": 3, "ngx_query": 3,
                      "kong_body": 2, "decode": 3, "kong_resp": 6, "ngx_resp": 6}
    # proxying is not limited: the upstream got every header and argument
    seen = resp.json()
    assert all(seen["headers"].get(name.lower()) == value for name, value in headers.items())
    assert seen["path"].endswith("q4=4&q5=5" + extra)
    log = (gw.prefix / "logs" / "error.log").read_bytes()[mark:].decode(errors="replace")
    for what in ("request headers", "uri args", "post args", "response headers",
                 "decode args"):
        assert f"{what} truncated" in log


def test_an_explicit_limit_still_wins(gateway, svc):
    gw = gateway
    gw.route("/lua-max-explicit", {"name": "pre-function", "config": {"access": [
        "local c = 0 for _ in pairs(kong.request.get_headers(20)) do c = c + 1 end "
        "kong.response.exit(200, { n = c })"]}})
    gw.wait_sync()
    resp = proxy(gw).get("/lua-max-explicit", headers={f"X-H{i}": "v" for i in range(8)})
    assert resp.status_code == 200
    assert resp.json()["n"] > 5
