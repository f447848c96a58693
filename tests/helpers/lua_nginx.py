"""A throw-away nginx running Lua outside any node: the main context of its
nginx.conf, for the tests of Lua modules that need nginx's Lua API (the Lua
unit suites, the expressions evaluator, kongpy.traceable). A test appends its
own `http {{ ... }}` block and formats the whole with `tmp` (and its own
fields)."""
from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

MAIN = """
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
events {{ }}
"""
