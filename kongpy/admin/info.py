"""Informational endpoints: ``GET /``, ``GET /status``, ``GET /endpoints``."""
from __future__ import annotations

import logging
import socket
from typing import Any, Mapping

from flask import Blueprint, Response, current_app, request

import kongpy
from kongpy import dbless, unserved
from kongpy.admin import plugins
from kongpy.admin.resources import json_response, state
from kongpy.errors import DatastoreUnavailable

log = logging.getLogger(__name__)

REDACTED = "******"
_SECRET_KEYS = frozenset({"pg_password", "pg_ro_password", "cassandra_password",
                          "redis_password", "admin_gui_session_conf",
                          "admin_gui_auth_conf", "keyring_private_key"})
_SECRET_HINTS = ("password", "secret", "token", "credential", "private_key", "api_key")
_UNITS = {"k": (2 ** 10, "KiB"), "m": (2 ** 20, "MiB"), "g": (2 ** 30, "GiB")}
_MAX_SCALE = 99
_SERVER_KEYS = ("connections_active", "connections_reading", "connections_writing",
                "connections_waiting", "connections_accepted", "connections_handled",
                "total_requests")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def is_secret(key: str) -> bool:
    key = key.lower()
    return key in _SECRET_KEYS or any(hint in key for hint in _SECRET_HINTS)


def sanitized(config: Mapping[str, Any]) -> dict:
    # a property given as a vault reference shows the reference (Kong's $refs)
    refs = config.references() if hasattr(config, "references") else {}
    out = {}
    for key in config:
        value = refs.get(key, config[key])
        out[str(key)] = REDACTED if is_secret(str(key)) and value not in (None, "") \
            else _jsonable(value)
    return out


def _dataplane() -> dict:
    probe = state().get("dataplane")
    if probe is None:
        return {}
    try:
        doc = probe()
        return doc if isinstance(doc, dict) else {}
    except Exception as exc:  # noqa: BLE001 - the data plane may be down; answer anyway
        log.debug("data plane status unavailable: %s", exc)
        return {}


def _timers(dp: dict) -> dict | None:
    """The data plane's ``{running, pending}`` timer counts, None without them."""
    timers = dp.get("timers")
    if not isinstance(timers, dict):
        return None
    counts = {k: timers.get(k) for k in ("running", "pending")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
        return None
    return counts


def _warnings(st: Mapping[str, Any]) -> list[str] | None:
    """kongpy_warnings: the routes this node accepts but cannot serve, read
    again only when the configuration version moved (None: datastore down)."""
    db = st["db"]
    try:
        version = db.events.latest()
        cached = st.get("unserved")
        if cached is not None and cached[0] == version:
            return cached[1]
        lines = unserved.warnings(st["config"], db.routes.each())
    except DatastoreUnavailable as exc:
        log.debug("kongpy_warnings left out: %s", exc.message)
        return None
    st["unserved"] = (version, lines)
    return lines


def root() -> Response:
    st = state()
    dp = _dataplane()
    pids = dp.get("pids") or {"master": None, "workers": []}
    body = {
        "tagline": "Welcome to kong",
        "version": kongpy.KONG_VERSION,
        "kongpy_version": kongpy.__version__,
        "edition": "community",
        "hostname": socket.gethostname(),
        "node_id": st["node_id"],
        "lua_version": dp.get("lua_version"),
        "plugins": {"available_on_server": plugins.available_on_server(),
                    "enabled_in_cluster": plugins.enabled_in_cluster()},
        "configuration": sanitized(st["config"]),
        "pids": pids,
    }
    # Kong's figures come from its nginx workers: without a data plane to ask,
    # the field is left out rather than made up.
    timers = _timers(dp)
    if timers is not None:
        body["timers"] = timers
    warnings = _warnings(st)
    if warnings is not None:
        body["kongpy_warnings"] = warnings
    return json_response(body)


def bytes_to_str(num: float, unit: str, scale: float | None = None) -> str:
    """Kong's ``kong.tools.string.bytes_to_str``: ``"%d"`` bytes for ``b`` or an
    empty unit, else ``"<n> KiB|MiB|GiB"`` with ``scale`` decimals."""
    low = unit.lower()
    if low in ("", "b"):
        return str(int(num))
    if scale is None:
        scale = 2
    if scale < 0:
        raise ValueError("scale must be equal or greater than 0")
    if low not in _UNITS:
        raise ValueError(f"invalid unit '{unit}' (expected 'k/K', 'm/M', or 'g/G')")
    factor, suffix = _UNITS[low]
    return f"{num / factor:.{_precision(scale)}f} {suffix}"


def _precision(scale: float) -> int:
    """``scale`` as Kong's ``"%.<scale>f"`` format takes it: truncated by
    ``%d``; LuaJIT's ``string.format`` refuses a precision of three digits or
    more (and the ``%d`` of inf or nan, a negative number) with this error."""
    if scale != scale or scale == float("inf"):
        raise ValueError("invalid option '%.-' to 'format'")
    digits = int(scale)
    if digits > _MAX_SCALE:
        raise ValueError(f"invalid option '%.{str(digits)[:3]}' to 'format'")
    return digits


def _convert(num: Any, unit: str, scale: float | None) -> Any:
    """Kong's ``kong.node`` conversion: plain numbers for ``b``/``B``."""
    if unit.lower() == "b":
        return int(num or 0)
    return bytes_to_str(num or 0, unit, scale)


def _memory(dp: dict, unit: str, scale: float | None) -> dict:
    mem = dp.get("memory") or {}
    vms = [{"pid": vm.get("pid"),
            "http_allocated_gc": _convert(vm.get("http_allocated_gc"), unit, scale)}
           for vm in mem.get("workers_lua_vms") or []]
    vms.sort(key=lambda vm: vm["pid"] or 0)
    dicts = {name: {"allocated_slabs": _convert(d.get("allocated_slabs"), unit, scale),
                    "capacity": _convert(d.get("capacity"), unit, scale)}
             for name, d in (mem.get("lua_shared_dicts") or {}).items()}
    return {"workers_lua_vms": vms, "lua_shared_dicts": dicts}


def _lua_number(text: str | None) -> float | None:
    """Lua's ``tonumber`` of a query argument (None when it is no number):
    decimal or hexadecimal, surrounding spaces allowed, inf and nan included."""
    if text is None:
        return None
    text = text.strip()
    if "_" in text:  # Python's float() accepts digit separators, Lua's does not
        return None
    try:
        if text.lower().lstrip("-").startswith("0x"):
            return float(int(text, 16))
        return float(text)
    except ValueError:
        return None


def status() -> Response:
    """Kong's ``GET /status``: ``unit`` (default ``m``) and ``scale`` (a number,
    else the default 2) are checked as ``bytes_to_str`` checks them."""
    unit = request.args.get("unit", "m")
    scale = _lua_number(request.args.get("scale"))
    try:
        bytes_to_str(0, unit, scale)
    except ValueError as exc:
        return json_response({"message": str(exc)}, 400)
    dp = _dataplane()
    server = {k: int((dp.get("server") or {}).get(k) or 0) for k in _SERVER_KEYS}
    try:
        reachable = state()["db"].ping()
    except Exception:  # noqa: BLE001 - an unreachable datastore is the answer itself
        reachable = False
    body = {"memory": _memory(dp, unit, scale), "server": server,
            "database": {"reachable": reachable}}
    if dbless.enabled(state()["config"]):
        # Kong's DB-less nodes report the hash of the configuration they
        # serve (clients such as the ingress controller compare it)
        body["configuration_hash"] = dbless.current_hash(state()["config"])
    return json_response(body)


def endpoints() -> Response:
    paths = set()
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        text = rule.rule
        for arg in rule.arguments:
            text = text.replace(f"<{arg}>", "{" + arg + "}")
        paths.add(text)
    return json_response({"data": sorted(paths)})


def blueprint() -> Blueprint:
    bp = Blueprint("info", __name__)
    bp.add_url_rule("/", "root", root, methods=["GET"])
    bp.add_url_rule("/status", "status", status, methods=["GET"])
    bp.add_url_rule("/endpoints", "endpoints", endpoints, methods=["GET"])
    return bp
