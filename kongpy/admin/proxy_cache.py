"""proxy-cache's Admin API endpoints (Kong's api.lua for the plugin, which
kongpy does not run): the entries live in the shared dictionaries of the
node's nginx, reached through the control socket (lua/kongpy/control.lua,
lua/kong/plugins/proxy-cache/purge.lua). A purge is also broadcast on Kong's
cluster channel ``proxy-cache:purge`` (``<plugin id>:<key or nil>``), so
the other nodes of the datastore purge their copies.

Registered only on a node that enables proxy-cache, as Kong loads a
plugin's endpoints.
"""
from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from flask import Blueprint, Response, request

from kongpy.admin.resources import dao_for, json_response, no_content, not_found, state
from kongpy.errors import DataPlaneError
from kongpy.sync.model import BROADCAST

log = logging.getLogger(__name__)

NAME = "proxy-cache"
CHANNEL = "proxy-cache:purge"


def _instances() -> list[dict]:
    return [row for row in dao_for("plugins").each() if row.get("name") == NAME]


def _dict(row: dict) -> str:
    return ((row.get("config") or {}).get("memory") or {}).get("dictionary_name") \
        or "kong_db_cache"


def _ask(op: str, rows: list[dict], key: str | None = None) -> tuple[int, dict[str, Any]]:
    control = state().get("control")
    if control is None:
        raise DataPlaneError("no data plane to ask")
    doc: dict[str, Any] = {"dicts": [_dict(r) for r in rows]}
    if key is not None:
        doc["key"] = key
    return control.proxy_cache(op, doc)


def _broadcast(plugin_id: str, key: str | None) -> None:
    db = state()["db"]
    if getattr(db, "read_only", False):
        return  # a DB-less node shares no datastore with other nodes
    # the node that broadcasts does not receive its own event (Kong's rule)
    db.append_event(BROADCAST + CHANNEL, json.dumps(
        {"data": f"{plugin_id}:{key if key is not None else 'nil'}", "delay": 0}))


def _failed(status: int, answer: dict[str, Any]) -> Response:
    return json_response({"message": answer.get("message") or f"data plane answered {status}"},
                         500)


def purge_all() -> Response:
    rows = _instances()
    if rows:
        status, answer = _ask("flush", rows)
        if status != 200:
            return _failed(status, answer)
        for row in rows:
            _broadcast(row["id"], None)
    return no_content()


def _by_key(key: str, delete: bool) -> Response:
    rows = _instances()
    if not rows:
        return not_found()
    status, answer = _ask("delete" if delete else "fetch", rows, key)
    if status == 404:
        return not_found()
    if status != 200:
        return _failed(status, answer)
    if not delete:
        return json_response(answer["entry"])
    dicts = [_dict(r) for r in rows]
    _broadcast(rows[dicts.index(answer["dict"])]["id"], key)
    return no_content()


def entry(cache_key: str) -> Response:
    """GET: Kong's cached object; DELETE: purged (204)."""
    return _by_key(cache_key, request.method == "DELETE")


def _instance(plugin_id: str) -> dict | None:
    try:
        uuid.UUID(plugin_id)
    except ValueError:
        return None
    return dao_for("plugins").select(plugin_id)


def plugin_entry(plugin_id: str, cache_key: str) -> Response:
    """The entry of one instance: GET reads it, DELETE purges it."""
    if request.method == "DELETE":
        return _delete_plugin_entry(plugin_id, cache_key)
    row = _instance(plugin_id)
    if row is None:
        return not_found()
    status, answer = _ask("fetch", [row], cache_key)
    if status == 404:
        return not_found()
    if status != 200:
        return _failed(status, answer)
    return json_response(answer["entry"])


def _delete_plugin_entry(plugin_id: str, cache_key: str) -> Response:
    row = _instance(plugin_id)
    if row is None:
        return not_found()
    status, answer = _ask("delete", [row], cache_key)
    if status == 404:
        return not_found()
    if status != 200:
        return _failed(status, answer)
    _broadcast(row["id"], cache_key)
    return no_content()


def blueprint() -> Blueprint:
    bp = Blueprint("proxy_cache", __name__)
    if NAME not in getattr(state()["db"], "loaded_plugins", {}):
        return bp
    bp.add_url_rule("/proxy-cache", "purge_all", purge_all, methods=["DELETE"])
    bp.add_url_rule("/proxy-cache/<cache_key>", "entry", entry, methods=["GET", "DELETE"])
    bp.add_url_rule("/proxy-cache/<plugin_id>/caches/<cache_key>", "plugin_entry",
                    plugin_entry, methods=["GET", "DELETE"])
    return bp
