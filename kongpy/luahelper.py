"""The control plane's Lua helper: a private nginx process that loads plugins.

Kong's plugin contract is Lua: handler.lua (PRIORITY, VERSION, phases),
schema.lua and daos.lua in Kong's schema language, migrations/ and api.lua.
The control plane asks a helper nginx (no master, one process, a unix socket
in a private temp folder) that loads the node's enabled plugins exactly as
the data plane does (lua/kongpy/helper/): their facts, their schemas in
Kong's JSON form, and validations (validator and transformation functions
of plugins run there, in Lua, with the real ngx API).

One helper per set of plugins and Lua paths, started on first use, reused
for the life of the Python process, and gone with it: atexit stops it, and
the helper itself exits within a second once its parent is gone (whichever
thread started it). Starting one costs a few tens of milliseconds.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

from kongpy import paths
from kongpy.errors import ConfigError

log = logging.getLogger(__name__)

_START_TIMEOUT = 30.0
_REQUEST_TIMEOUT = 30.0
_KEEP = 4  # helpers kept per process (distinct plugin sets)
_BATCH = 1000  # entities per request of validate_many

_CONF = """\
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
error_log {tmp}/error.log notice;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    lua_package_path '{path}';
    lua_package_cpath '{cpath}';
    lua_socket_log_errors off;
{dicts}
    init_by_lua_block {{
        -- plugins reach the PDK through the global kong, also at load time;
        -- kong.configuration holds the properties validations read
        -- (untrusted_lua for kong.tools.sandbox)
        local f = assert(io.open("{tmp}/configuration.json", "rb"))
        require("kongpy.settings").configuration = require("cjson").decode(f:read("*a"))
        f:close()
        _G.kong = require("kongpy.pdk")
        kongpy_helper = require("kongpy.helper")
        kongpy_helper.init(require("cjson").decode([==[{names}]==]))
    }}
    init_worker_by_lua_block {{
        kongpy_helper.exit_with_parent({parent})
    }}
    server {{
        listen unix:{tmp}/helper.sock;
        location / {{
            content_by_lua_block {{
                kongpy_helper.serve()
            }}
        }}
    }}
}}
"""
# The data plane's shared dicts: modules may look them up when they load.
_DICTS = ("kongpy_snapshot", "kongpy_cache", "kongpy_ratelimit", "prometheus_metrics")


class LuaHelper:
    """One helper process for a set of plugin names and Lua paths."""

    def __init__(self, names: list[str], lua_path: str, lua_cpath: str,
                 configuration: Mapping[str, Any] | None = None) -> None:
        self.names = list(names)
        self.configuration = dict(configuration or {})
        self.lua_path = lua_path
        self.lua_cpath = lua_cpath
        self._tmp: str | None = None
        self._proc: subprocess.Popen | None = None
        self._facts: dict[str, Any] | None = None
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------

    @property
    def socket(self) -> str:
        assert self._tmp is not None
        return f"{self._tmp}/helper.sock"

    def _conf(self) -> str:
        dicts = "\n".join(f"    lua_shared_dict {d} 1m;" for d in _DICTS)
        return _CONF.format(tmp=self._tmp, path=self.lua_path, cpath=self.lua_cpath,
                            dicts=dicts, names=json.dumps(self.names), parent=os.getpid())

    def start(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            self._tmp = tempfile.mkdtemp(prefix="kongpy-helper-")
            conf = Path(self._tmp) / "nginx.conf"
            conf.write_text(self._conf())
            (Path(self._tmp) / "configuration.json").write_text(
                json.dumps(self.configuration))
            cmd = [paths.nginx_binary(), "-p", f"{self._tmp}/", "-c", str(conf),
                   "-g", "daemon off; master_process off;"]
            try:
                self._proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, cwd=self._tmp, close_fds=True)
            except OSError as exc:
                raise ConfigError(f"cannot start nginx to load the plugins: {exc}") from None
            self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                detail = self._error_log() or (self._proc.stderr.read().decode(errors="replace")
                                               if self._proc.stderr else "")
                self.close()
                raise ConfigError(f"cannot load the plugins: {detail.strip()}")
            if self._accepts():
                return
            time.sleep(0.005)
        self.close()
        raise ConfigError("cannot load the plugins: the helper did not start in "
                          f"{_START_TIMEOUT:g}s")

    def _accepts(self) -> bool:
        """Whether the socket takes connections (nginx binds it a moment
        before it listens on it)."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.socket)
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def _error_log(self) -> str:
        log_file = Path(self._tmp or "") / "error.log"
        try:
            lines = log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(ln for ln in lines if "[error]" in ln or "[emerg]" in ln
                         or "[alert]" in ln)[-2000:]

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc is not None and proc.stderr:
            proc.stderr.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- requests ------------------------------------------------------------------

    def _request(self, method: str, path: str,
                 body: Mapping[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        from kongpy.sync.push import UnixHTTPConnection

        self.start()
        data = None if body is None else json.dumps(body).encode()
        conn = UnixHTTPConnection(self.socket, _REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            resp = conn.getresponse()
            raw = resp.read()
        except OSError as exc:
            raise ConfigError(f"the plugin helper did not answer: {exc}") from None
        finally:
            conn.close()
        try:
            decoded = json.loads(raw or b"{}")
        except ValueError:
            raise ConfigError(f"the plugin helper answered {resp.status} with no "
                              "JSON") from None
        if not isinstance(decoded, dict):
            return resp.status, {}
        # Kong writes a deprecated field's warning to the node's error log
        for text in decoded.pop("warnings", None) or ():
            log.warning("%s", text)
        return resp.status, decoded

    def facts(self) -> dict[str, Any]:
        """``{"plugins": {name: facts}, "errors": {name: "file: reason"}}``."""
        if self._facts is None:
            status, body = self._request("GET", "/facts")
            if status != 200:
                raise ConfigError(f"the plugin helper answered {status} to /facts")
            self._facts = body
        return self._facts

    def validate(self, schema: str, value: Any, original: Any = None,
                 current: Any = None) -> tuple[dict | None, dict | None]:
        """(entity with defaults, None) or (None, Kong's field errors).

        An update also gives the request's own fields (``original``) and the
        stored entity (``current``): Kong's all-or-none rule of transformations
        with ``needs`` depends on what the update changes.
        """
        doc: dict[str, Any] = {"schema": schema, "value": value}
        if current is not None:
            doc.update(original=original, rbw=current)
        status, body = self._request("POST", "/validate", doc)
        if status == 200:
            return body.get("value"), None
        if "fields" in body:
            return None, body["fields"]
        raise ConfigError(f"cannot validate {schema}: {body.get('message')}")

    def validate_many(self, schema: str, values: list
                      ) -> list[tuple[dict | None, dict | None, str | None]]:
        """:meth:`validate` of each of ``values`` (inserts), in a few round trips:
        per value (entity, None, None), (None, field errors, None) or, when the
        plugin's own code raised, (None, None, message)."""
        out: list[tuple[dict | None, dict | None, str | None]] = []
        for start in range(0, len(values), _BATCH):
            part = values[start:start + _BATCH]
            status, body = self._request("POST", "/validate_many",
                                         {"schema": schema, "value": part})
            answers = body.get("results")
            if status != 200 or not isinstance(answers, list) or len(answers) != len(part):
                raise ConfigError(f"cannot validate {schema}: {body.get('message')}")
            for answer in answers:
                if "value" in answer:
                    out.append((answer["value"], None, None))
                elif "fields" in answer:
                    out.append((None, answer["fields"], None))
                else:
                    out.append((None, None, f"cannot validate {schema}: "
                                            f"{answer.get('message')}"))
        return out

    def transform(self, schema: str, value: Any, supplied: Any) -> dict:
        """The entity after its schema's write transformations for the supplied fields."""
        status, body = self._request("POST", "/transform",
                                     {"schema": schema, "value": value, "input": supplied})
        if status != 200:
            raise ConfigError(f"cannot transform {schema}: {body.get('message')}")
        return body["value"]

    def accepts_rehash(self, schema: str, old: str, new: str) -> bool:
        """Whether ``new`` may replace the stored ``old`` (the entity's own rule)."""
        status, body = self._request("POST", "/rehash",
                                     {"schema": schema, "value": {"old": old, "new": new}})
        return status == 200 and body.get("accepts") is True


_helpers: "OrderedDict[tuple, LuaHelper]" = OrderedDict()
_helpers_lock = threading.Lock()


def _stamp(folders: Mapping[str, Path]) -> tuple:
    """Each plugin's handler.lua, schema.lua and daos.lua and when they last changed."""
    def changed(folder: Path) -> tuple:
        out = []
        for name in ("handler.lua", "schema.lua", "daos.lua"):
            try:
                out.append((folder / name).stat().st_mtime_ns)
            except OSError:
                out.append(0)
        return tuple(out)
    return tuple(sorted((n, str(f), changed(f)) for n, f in folders.items()))


def for_plugins(folders: Mapping[str, Path], lua_path: str, lua_cpath: str,
                configuration: Mapping[str, Any] | None = None) -> LuaHelper:
    """The helper loading ``folders`` (name → folder) with these Lua paths;
    ``configuration``: the node properties its ``kong.configuration`` holds."""
    configuration = dict(configuration or {})
    key = (_stamp(folders), lua_path, lua_cpath, json.dumps(configuration, sort_keys=True))
    with _helpers_lock:
        helper = _helpers.get(key)
        if helper is None:
            helper = LuaHelper(sorted(folders), lua_path, lua_cpath, configuration)
            _helpers[key] = helper
            while len(_helpers) > _KEEP:
                _, old = _helpers.popitem(last=False)
                old.close()
        else:
            _helpers.move_to_end(key)
    return helper


@atexit.register
def _close_all() -> None:
    for helper in list(_helpers.values()):
        helper.close()
    _helpers.clear()
