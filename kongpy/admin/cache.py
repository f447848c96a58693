"""Kong's ``/cache`` endpoints: ``GET /cache/{key}`` (what ``kong.cache``
holds for the key), ``DELETE /cache/{key}`` and ``DELETE /cache``.

``kong.cache`` lives in the workers of the node's nginx: the Admin API asks
the one that accepts the control socket's request (its own level 1, then
the level 2 the workers share; lua/kongpy/control_cache.lua). A deletion
reaches the other workers' level 1 through the worker events, as Kong's
``invalidate_local`` and ``purge`` do.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, request

from kongpy.admin.resources import json_response, no_content, not_found, state
from kongpy.errors import DataPlaneError

log = logging.getLogger(__name__)

# Kong's answer when its cache lookup fails
_UNEXPECTED = "An unexpected error happened"


def _ask(op: str, doc: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]] | None:
    """(status, answer) of POST /cache/<op>; None (logged) when the data plane
    cannot be asked."""
    control = state().get("control")
    if control is None:
        log.error("cache %s: no data plane to ask", op)
        return None
    try:
        return control.cache(op, json.dumps(doc or {}).encode())
    except DataPlaneError as exc:
        log.error("cache %s: %s", op, exc)
        return None


def entry(key: str) -> Response:
    """GET: the cached value (a table as it is, anything else as Kong's
    ``{"message": value}``), 404 when the key is not cached; DELETE: dropped."""
    if request.method == "DELETE":
        return _delete(key)
    answer = _ask("probe", {"key": key})
    if answer is None or answer[0] not in (200, 404):
        return json_response({"message": _UNEXPECTED}, 500)
    status, body = answer
    if status == 404:
        return not_found()
    value = body.get("value")
    if isinstance(value, dict):
        return json_response(value)
    # Kong's {message = value}: a cached miss (nil) leaves an empty object
    return json_response({} if value is None else {"message": value})


def _delete(key: str) -> Response:
    answer = _ask("invalidate", {"key": key})
    if answer is None or answer[0] != 200:
        return json_response({"message": _UNEXPECTED}, 500)
    return no_content()


def purge() -> Response:
    answer = _ask("purge")
    if answer is None or answer[0] != 200:
        return json_response({"message": _UNEXPECTED}, 500)
    return no_content()


def blueprint() -> Blueprint:
    bp = Blueprint("cache", __name__)
    bp.add_url_rule("/cache/<path:key>", "cache_entry", entry, methods=["GET", "DELETE"])
    bp.add_url_rule("/cache", "cache_purge", purge, methods=["DELETE"])
    return bp
