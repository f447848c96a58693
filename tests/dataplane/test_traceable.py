"""kongpy.traceable: the request-path getters it puts in place of resty.core's
answer exactly as the originals do, and, unlike them, compile when
interpreted code calls them often (the originals end up blacklisted, and
with them every trace that calls them)."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import lua_nginx

from tests.helpers.servers import free_port

REPO = lua_nginx.REPO
NGINX = lua_nginx.NGINX
LUAJIT_SHARE = "/usr/share/luajit-2.1.0-beta3/?.lua"

CONF = lua_nginx.MAIN + """http {{
    access_log off;
    lua_package_path '{repo}/lua/?.lua;{repo}/lua/?/init.lua;{luajit};;';
    init_by_lua_block {{
        -- resty.core's originals, kept before they are replaced
        ORIGINAL = {{
            var = getmetatable(ngx.var).__index,
            header = getmetatable(ngx.header).__index,
            now = ngx.now, time = ngx.time, start_time = ngx.req.start_time,
        }}
        require("kongpy.traceable").apply()
    }}
    server {{
        listen 127.0.0.1:{port};
        location ~ ^/same/(\\w+)$ {{
            set $empty '';
            content_by_lua_block {{
                local O = ORIGINAL
                local null = require("cjson").null
                local out = {{}}
                local function both(name, a, b)
                    if a == nil then a = null end
                    if b == nil then b = null end
                    out[name] = {{ a, b }}
                end
                for _, n in ipairs({{ "uri", "request_uri", "args", "empty",
                                      "no_such_variable", "http_x_two" }}) do
                    both("var " .. n, O.var(ngx.var, n), ngx.var[n])
                end
                both("var 1", O.var(ngx.var, 1), ngx.var[1])
                local bad_a = select(2, pcall(O.var, ngx.var, {{}}))
                local bad_b = select(2, pcall(function() return ngx.var[{{}}] end))
                both("var bad name", bad_a, bad_b)
                ngx.header["X-One"] = "1"
                ngx.header["X-Multi"] = {{ "a", "b" }}
                for _, h in ipairs({{ "X-One", "X-Multi", "X-None" }}) do
                    both("header " .. h, O.header(ngx.header, h), ngx.header[h])
                end
                both("start_time", O.start_time(), ngx.req.start_time())
                both("time", type(O.time()), type(ngx.time()))
                both("now", type(O.now()), type(ngx.now()))
                out.now_close = math.abs(O.now() - ngx.now()) < 1
                ngx.say(require("cjson").encode(out))
            }}
        }}
        location = /jit {{
            content_by_lua_block {{
                local bit = require("bit")
                local funcbc = require("jit.util").funcbc
                local names = require("jit.vmdef").bcnames
                local O = ORIGINAL
                local function op(f)
                    local ins = funcbc(f, 0)
                    local code = bit.band(ins, 0xff)
                    return (names:sub(code * 6 + 1, code * 6 + 6):gsub(" +$", ""))
                end
                -- interpreted callers, as a worker's handlers are while it
                -- warms up (and for good once a handler is blacklisted)
                local function hammer(get)
                    local v = ngx.var
                    for _ = 1, 200000 do
                        get(v, "uri")
                    end
                end
                jit.off(hammer)
                local mine = getmetatable(ngx.var).__index
                hammer(O.var)
                hammer(mine)
                local function tick(now)
                    for _ = 1, 200000 do
                        now()
                    end
                end
                jit.off(tick)
                tick(O.now)
                tick(ngx.now)
                ngx.say(require("cjson").encode({{
                    var = {{ op(O.var), op(mine) }},
                    now = {{ op(O.now), op(ngx.now) }},
                }}))
            }}
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is required for the data-plane tests")
    tmp = tmp_path_factory.mktemp("traceable")
    port = free_port()
    (tmp / "nginx.conf").write_text(CONF.format(tmp=tmp, repo=REPO, port=port,
                                                luajit=LUAJIT_SHARE))
    proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(base + "/none", timeout=1)
        except urllib.error.HTTPError:
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = tmp / "error.log"
                pytest.fail(f"nginx did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        else:
            break
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def _get(url: str, headers: dict[str, str] | None = None) -> dict:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def test_replacements_answer_as_resty_core(node: str) -> None:
    out = _get(node + "/same/abc?x=1&y=2", {"X-Two": "2"})
    assert out.pop("now_close") is True
    # the same message, raised from different call sites
    bad = out.pop("var bad name")
    assert all("bad variable name" in m for m in bad), bad
    for name, (original, replacement) in out.items():
        assert replacement == original, name
    # the cases worth comparing
    assert out["var 1"][0] == "abc"
    assert out["var args"][0] == "x=1&y=2"
    assert out["var empty"][0] == ""
    assert out["var http_x_two"][0] == "2"
    assert out["var no_such_variable"] == [None, None]
    assert out["header X-Multi"][0] == ["a", "b"]
    assert out["header X-None"] == [None, None]
    assert out["now"] == ["number", "number"]


def test_replacements_compile_where_the_originals_are_blacklisted(node: str) -> None:
    out = _get(node + "/jit")
    # the originals: every trace LuaJIT starts in them fails, so they end up
    # blacklisted (IFUNCF) -- the behaviour this module exists for
    assert out["var"][0] == "IFUNCF", out
    assert out["now"][0] == "IFUNCF", out
    # the replacements compile (JFUNCF), or at worst are still being tried
    assert out["var"][1] in ("JFUNCF", "FUNCF"), out
    assert out["now"][1] in ("JFUNCF", "FUNCF"), out
