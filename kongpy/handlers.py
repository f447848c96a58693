"""What each plugin's handler.lua declares, read by loading it where it runs.

PRIORITY, VERSION and the phases a handler implements have one home: the
handler itself, as in Kong. The control plane needs them (render installs
only the phases some plugin uses; the Admin API reports versions and
priorities), so it asks nginx: a throw-away nginx process, with the node's
Lua paths and no listener, requires every enabled handler in
``init_by_lua``, writes what it found as JSON, and exits. That sees a
handler exactly as the data plane will (``Handler.log = f`` counts as much as
``function Handler:log()``), for about ten milliseconds per process.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

from kongpy import paths
from kongpy.errors import ConfigError

# The phases the data plane runs plugin handlers in.
PHASES = ("init_worker", "rewrite", "access", "header_filter", "body_filter", "log")
# Phases of Kong's handler contract that the data plane does not run (yet): a
# handler defining one is refused rather than silently half-run.
NOT_RUN = ("configure", "certificate", "response")
_TIMEOUT = 30

_CONF = """\
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
error_log {tmp}/error.log notice;
pid {tmp}/nginx.pid;
events {{}}
http {{
    lua_package_path '{path}';
    lua_package_cpath '{cpath}';
    init_by_lua_block {{
        local cjson = require("cjson.safe")
        -- as on the data plane: Kong plugins capture `local kong = kong`
        local pok, pdk = pcall(require, "kongpy.pdk")
        if pok then
            _G.kong = pdk
        end
        local names = cjson.decode({names})
        local phases = cjson.decode({phases})
        local out = {{}}
        for _, name in ipairs(names) do
            local ok, h = pcall(require, name .. ".handler")
            local facts = {{}}
            if not ok then
                facts.error = tostring(h)
            elseif type(h) ~= "table" then
                facts.error = "handler.lua must return a table"
            else
                facts.priority = h.PRIORITY
                facts.version = h.VERSION
                local found = {{}}
                for _, phase in ipairs(phases) do
                    if type(h[phase]) == "function" then
                        found[#found + 1] = phase
                    end
                end
                facts.phases = found
            end
            out[name] = facts
        end
        local f = assert(io.open("{tmp}/facts.json", "w"))
        f:write(cjson.encode(out))
        f:close()
        os.exit(0)
    }}
}}
"""

_cache: dict[tuple, dict[str, dict[str, Any]]] = {}


def _lua_string(value: Any) -> str:
    """A JSON document as a Lua long-bracket string literal."""
    return "[==[" + json.dumps(value) + "]==]"


def _stamp(folders: Mapping[str, Path]) -> tuple:
    """Each handler.lua and when it last changed: what a cached answer depends on."""
    def changed(folder: Path) -> int:
        try:
            return (folder / "handler.lua").stat().st_mtime_ns
        except OSError:
            return 0
    return tuple(sorted((n, str(f), changed(f)) for n, f in folders.items()))


def _run(names: list[str], lua_path: str, lua_cpath: str) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="kongpy-handlers-") as tmp:
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(_CONF.format(tmp=tmp, path=lua_path, cpath=lua_cpath,
                                     names=_lua_string(names),
                                     phases=_lua_string(list(PHASES + NOT_RUN))))
        cmd = [paths.nginx_binary(), "-p", f"{tmp}/", "-c", str(conf),
               "-g", "daemon off; master_process off;"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT,
                                  cwd=tmp, env=dict(os.environ))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"cannot run nginx to load the plugin handlers: "
                              f"{exc}") from None
        facts = Path(tmp) / "facts.json"
        if proc.returncode != 0 or not facts.is_file():
            log = (Path(tmp) / "error.log")
            detail = (proc.stderr.strip() or (log.read_text() if log.is_file() else "")
                      or f"exit code {proc.returncode}")
            raise ConfigError(f"cannot load the plugin handlers: {detail.strip()}")
        return json.loads(facts.read_text() or "{}")


def _checked(name: str, folder: Path, facts: Mapping[str, Any]) -> dict[str, Any]:
    where = f"{name} plugin ({folder / 'handler.lua'})"
    if "error" in facts:
        raise ConfigError(f"{where}: cannot be loaded: {facts['error']}")
    priority, version = facts.get("priority"), facts.get("version")
    if not isinstance(priority, (int, float)) or isinstance(priority, bool) \
            or int(priority) != priority:
        raise ConfigError(f"{where}: PRIORITY must be an integer")
    if not isinstance(version, str) or not version:
        raise ConfigError(f"{where}: VERSION must be a string")
    phases = tuple(facts.get("phases") or ())
    refused = [p for p in phases if p in NOT_RUN]
    if refused:
        raise ConfigError(f"{where}: kongpy does not run the "
                          f"{', '.join(refused)} phase of plugins yet")
    return {"priority": int(priority), "version": version, "phases": phases}


def read(folders: Mapping[str, Path], lua_path: str,
         lua_cpath: str) -> dict[str, dict[str, Any]]:
    """``{name: {"priority", "version", "phases"}}`` for the plugins in ``folders``.

    Raises ConfigError naming the plugin, its handler and the reason
    when one cannot be loaded or declares something invalid.
    """
    if not folders:
        return {}
    key = (_stamp(folders), lua_path, lua_cpath)
    if key not in _cache:
        raw = _run(sorted(folders), lua_path, lua_cpath)
        _cache[key] = {n: _checked(n, f, raw.get(n) or {"error": "not loaded"})
                       for n, f in folders.items()}
    return _cache[key]
