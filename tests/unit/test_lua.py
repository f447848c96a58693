"""Runs the Lua unit tests (tests/lua) inside a throw-away nginx."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import lua_nginx

REPO = lua_nginx.REPO
NGINX = lua_nginx.NGINX

CONF = lua_nginx.MAIN + """http {{
    lua_package_path '{repo}/lua/?.lua;{repo}/lua/?/init.lua;\
{repo}/tests/lua/?.lua;;';
    lua_shared_dict kongpy_snapshot 1m;
    lua_shared_dict kongpy_cache 1m;
    lua_shared_dict kongpy_health 1m;
    init_by_lua_block {{
        local ok, res = pcall(require("runner").run, "{tmp}/results.txt")
        if not ok then
            local f = io.open("{tmp}/results.txt", "wb")
            f:write("runner crashed: ", tostring(res), "\\n")
            f:close()
        end
        os.exit((ok and res) and 0 or 1)
    }}
}}
"""


def test_lua_unit_suites(tmp_path: Path) -> None:
    if not Path(NGINX).exists():
        pytest.fail("nginx is required to run the Lua unit tests")
    conf = tmp_path / "nginx.conf"
    conf.write_text(CONF.format(tmp=tmp_path, repo=REPO))
    proc = subprocess.run([NGINX, "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)
    results = tmp_path / "results.txt"
    report = results.read_text() if results.exists() else ""
    assert report, f"no results written; nginx said: {proc.stderr}"
    assert proc.returncode == 0, report
    assert report.startswith(tuple(f"{n} tests, 0 failures" for n in range(1, 10000))), report
