"""``/config/history``, ``/config/history/{version}[/diff]``, ``/config/rollback/{version}``.

Not in Kong. The history itself lives in kongpy/declarative/history.py; this
module is its HTTP face, and has a version recorded after every request
that changed the configuration (``changed()`` marks it), off the request
path (kongpy/declarative/recorder.py). The origin is the admin token's name
under ``admin_auth = token``, else the node id.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, g, request

from kongpy import dbless
from kongpy.admin.guard import TOKEN_NAME_KEY
from kongpy.admin.resources import changed, json_response, page_body, state
from kongpy.db import history as store
from kongpy.db import paging
from kongpy.declarative import history
from kongpy.declarative.recorder import Recorder
from kongpy.declarative.errors import DeclarativeError
from kongpy.errors import DECLARATIVE_CONFIG, NAMES, InvalidOffset, SchemaViolation

log = logging.getLogger(__name__)


def _origin() -> str:
    return request.environ.get(TOKEN_NAME_KEY) or str(state()["node_id"])


def _size() -> int:
    return history.size_of(state()["config"])


def recorder() -> Recorder:
    """This application's recorder (made on first use, one per application)."""
    app_state = state()
    found = app_state.get("history")
    if found is None:
        found = app_state["history"] = Recorder(app_state["db"], _size())
    return found


def record_after(resp: Response) -> Response:
    """After-request hook: a request that changed the configuration is recorded
    (off the request path, kongpy/declarative/recorder.py)."""
    if g.get("kongpy_changed") and not g.get("kongpy_recorded"):
        g.kongpy_recorded = True
        recorder().mark(_origin())
    return resp


def _list() -> Response:
    recorder().flush()
    size = paging.check_size(request.args.get("size"))
    rows = store.entries(state()["db"].strategy)
    offset = request.args.get("offset")
    if offset:
        key = paging.decode_offset(offset)
        if len(key) != 1 or not key[0].isdigit():
            raise InvalidOffset(offset, "bad json encoding")
        rows = [r for r in rows if r["version"] < int(key[0])]
    token = paging.encode_offset([str(rows[size - 1]["version"])]) if len(rows) > size else None
    return json_response(page_body([_public(r) for r in rows[:size]], token, request.path))


def _public(row: dict) -> dict:
    return {k: row.get(k) for k in ("version", "created_at", "origin", "event_version",
                                    "summary", "rollback_of")}


def _not_found(exc: history.HistoryNotFound) -> Response:
    return json_response({"message": str(exc)}, 404)


def _document(version: int) -> Response:
    recorder().flush()
    try:
        return json_response(history.document(state()["db"], version))
    except history.HistoryNotFound as exc:
        return _not_found(exc)


def _diff(version: int) -> Response:
    against = request.args.get("against")
    if against is not None and not against.isdigit():
        raise SchemaViolation({"against": "expected a version number"})
    recorder().flush()
    try:
        return json_response(history.compare(state()["db"], version,
                                             int(against) if against is not None else None))
    except history.HistoryNotFound as exc:
        return _not_found(exc)


def _rollback(version: int) -> Response:
    db = state()["db"]
    recorder().flush()
    try:
        if dbless.enabled(state()["config"]):
            meta = dbless.rollback(state()["config"], version, _origin(), _size(),
                                   node_id=state()["node_id"])
        else:
            meta = history.rollback(db, version, _origin(), _size())
    except history.HistoryNotFound as exc:
        return _not_found(exc)
    except DeclarativeError as exc:
        # the stored document no longer fits this node (a plugin it uses is
        # not enabled here): Kong's body for an invalid declarative config
        return json_response({"code": DECLARATIVE_CONFIG, "name": NAMES[DECLARATIVE_CONFIG],
                              "message": str(exc), "fields": exc.fields()}, 400)
    g.kongpy_recorded = True  # rollback() recorded its own version
    changed()
    return json_response(_public(meta), 201)


def blueprint() -> Blueprint:
    bp = Blueprint("config_history", __name__)
    bp.add_url_rule("/config/history", "config_history", _list, methods=["GET"])
    bp.add_url_rule("/config/history/<int:version>", "config_history_version", _document,
                    methods=["GET"])
    bp.add_url_rule("/config/history/<int:version>/diff", "config_history_diff", _diff,
                    methods=["GET"])
    bp.add_url_rule("/config/rollback/<int:version>", "config_rollback", _rollback,
                    methods=["POST"])
    return bp
