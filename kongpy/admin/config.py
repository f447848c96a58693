"""``GET`` and ``POST /config``: a DB-less node's whole configuration (kongpy/dbless.py).

As Kong 3.9: the document comes as a form or JSON field ``config`` (YAML or
JSON text), as a JSON body holding the document itself, or as a raw YAML or
JSON body. ``?check_hash=1`` answers 304 when the text is the one loaded last;
``?flatten_errors`` adds ``flattened_errors`` to a 400. Success is 201 with
the loaded entities by table and id. Nodes with a database answer 400.
"""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, request

from kongpy import dbless
from kongpy.admin.resources import changed, json_response, state
from kongpy.declarative import DeclarativeError
from kongpy.declarative.export import export, to_yaml
from kongpy.errors import DECLARATIVE_CONFIG, NAMES

ONLY_DBLESS = ("this endpoint is only available when Kong is configured to not use "
               "a database")
EXPECTED = "expected a declarative configuration"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TRUE = frozenset({"1", "true", "on", "yes"})
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def blueprint() -> Blueprint:
    bp = Blueprint("config", __name__)
    bp.add_url_rule("/config", "config", _config, methods=["GET", "POST"])
    return bp


def _config() -> Response:
    """The node's declarative configuration (DB-less nodes only)"""
    config = state()["config"]
    if not dbless.enabled(config):
        return json_response({"message": ONLY_DBLESS}, 400)
    if request.method == "GET":
        return json_response({"config": to_yaml(export(state()["db"]))})
    text = _document_text()
    if text is None:
        return json_response({"message": EXPECTED}, 400)
    if request.args.get("check_hash") == "1" \
            and dbless.text_hash(text) == dbless.current_hash(config):
        return Response(status=304)
    try:
        document = dbless.load_text(config, text, node_id=state()["node_id"])
    except DeclarativeError as exc:
        flatten = (request.args.get("flatten_errors") or "").lower() in _TRUE
        return json_response(invalid_body(exc, flatten), 400)
    changed()
    return json_response(_loaded(document), 201)


def _document_text() -> str | None:
    mimetype = request.mimetype or ""
    if mimetype in _FORM_TYPES:
        field = request.form.get("config")
        if field is None and "config" in request.files:
            field = request.files["config"].read().decode("utf-8", "replace")
        return field or None
    raw = request.get_data(cache=True).decode("utf-8", "replace")
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and "_format_version" not in body:
            field = body.get("config")
            if isinstance(field, str):
                return field or None
            if isinstance(field, dict):
                return json.dumps(field)
    return raw if raw.strip() else None


def _loaded(document: Any) -> dict:
    """Kong's 201 body: ``{<table>: {<id>: entity}}``."""
    out: dict[str, dict] = {}
    db = state()["db"]
    for entry in document.entries:
        row = db.daos[entry.table].select(entry.data["id"])
        out.setdefault(entry.table, {})[entry.data["id"]] = row
    return out


def invalid_body(exc: DeclarativeError, flatten: bool) -> dict:
    fields = exc.fields()
    body: dict[str, Any] = {"code": DECLARATIVE_CONFIG, "name": NAMES[DECLARATIVE_CONFIG],
                            "message": "declarative config is invalid: "
                                       + lua_literal(exc.errors.root),
                            "fields": fields}
    if flatten:
        # Kong drains the entities' errors into flattened_errors, then writes
        # the message from what is left.
        body["fields"], body["flattened_errors"] = exc.flattened()
        body["message"] = "declarative config is invalid: " + lua_literal(body["fields"])
    return body


def lua_literal(value: Any) -> str:
    """A value as Kong's messages print Lua tables (penlight's pretty.write, no
    indent): keys sorted, identifiers bare, list positions 1-based."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "{" + ",".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        ints = sorted(k for k in value if isinstance(k, int))
        parts = []
        if ints == list(range(len(ints))) and len(ints) == len(value):
            return "{" + ",".join(lua_literal(value[k]) for k in ints) + "}"
        for key in ints:
            parts.append(f"[{key + 1}]={lua_literal(value[key])}")
        for key in sorted(k for k in value if not isinstance(k, int)):
            name = key if _IDENT.match(key) else f"[{json.dumps(key)}]"
            parts.append(f"{name}={lua_literal(value[key])}")
        return "{" + ",".join(parts) + "}"
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
