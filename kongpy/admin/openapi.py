"""``GET /openapi.json``: the Admin API as an OpenAPI 3.1 document.

Generated, never written by hand: the paths and methods are the Flask URL map
of this node (so plugin endpoints follow its enabled plugins), the bodies are
the entity schemas and each plugin's schema through
:mod:`kongpy.schemas.jsonschema`, the error bodies Kong's. A test compares the
document with the URL map; the fuzz test (tests/integration/test_admin_fuzz.py)
drives the Admin API from it.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import Blueprint, Flask, Response, current_app
from werkzeug.routing import Rule

import kongpy
from kongpy.admin.resources import (CollectionView, EntityView, ForeignView, json_response,
                                    state)
from kongpy.schemas import jsonschema
from kongpy.schemas.base import EntitySchema

_REF = "#/components/schemas/"
_JSON = "application/json"
_WRITE_ERRORS = ("400", "409", "413", "415")
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Routes of the HTTP layer, not of the Admin API.
IGNORED_ENDPOINTS = frozenset({"static"})


def blueprint() -> Blueprint:
    bp = Blueprint("openapi", __name__)
    bp.add_url_rule("/openapi.json", "openapi", _get, methods=["GET"])
    return bp


def _get() -> Response:
    kong = state()
    if "openapi" not in kong:  # the URL map and the schemas are fixed per process
        kong["openapi"] = document(current_app)  # type: ignore[arg-type]
    return json_response(kong["openapi"])


def document(app: Flask) -> dict:
    """The OpenAPI document of ``app`` (an Admin API from create_app)."""
    kong = app.extensions["kongpy"]
    db = kong["db"]
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "kongpy Admin API", "version": kongpy.__version__,
                 "description": f"Kong {kongpy.KONG_VERSION} Admin API, as kongpy "
                                "serves it. Bodies may also be sent as "
                                "application/x-www-form-urlencoded or multipart/form-data."},
        "paths": {},
        "components": {"schemas": _components(db), "responses": _responses()},
    }
    if (kong["config"].get("admin_auth") or "off") == "token":
        doc["components"]["securitySchemes"] = {"adminToken": {
            "type": "apiKey", "in": "header", "name": "Kong-Admin-Token"}}
        doc["security"] = [{"adminToken": []}]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        item: dict[str, Any] = {}
        if rule.arguments:
            item["parameters"] = [_path_param(name, db) for name in _arguments(rule)]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            item[method.lower()] = _operation(rule, view, method)
        doc["paths"][openapi_path(rule)] = item
    return doc


def openapi_path(rule: Rule) -> str:
    """``/services/<services>`` -> ``/services/{services}``."""
    return _VARIABLE.sub(r"{\1}", rule.rule)


def _arguments(rule: Rule) -> list[str]:
    return _VARIABLE.findall(rule.rule)


def _path_param(name: str, db: Any) -> dict:
    dao = db.daos.get(name)
    key = dao.schema.endpoint_key if dao is not None else None
    what = f"id or {key}" if key else ("id" if dao is not None else name)
    return {"name": name, "in": "path", "required": True,
            "description": f"The {what} of one of the {name}" if dao is not None else what,
            "schema": {"type": "string"}}


# -- operations -----------------------------------------------------------------------

def _operation(rule: Rule, view: Callable, method: str) -> dict:
    cls = getattr(view, "view_class", None)
    args = getattr(view, "entity_args", ())
    op_id = f"{rule.endpoint}.{method.lower()}"
    if cls is not None and issubclass(cls, CollectionView):
        entity, parent = args[0], (args[1] if len(args) > 1 else None)
        return _collection(op_id, cls, entity, parent, method)
    if cls is not None and issubclass(cls, EntityView):
        entity, parent = args[0], (args[1] if len(args) > 1 else None)
        return _entity(op_id, entity, parent, method)
    if cls is not None and issubclass(cls, ForeignView):
        return _entity(op_id, args[2], args[0], method, foreign=True)
    return _other(op_id, rule, view, method)


def _collection(op_id: str, cls: type, entity: str, parent: str | None,
                method: str) -> dict:
    missing = ("404",) if parent else ()
    if method == "GET":
        params = [_query("size", {"type": "integer", "minimum": 1, "maximum": 1000}),
                  _query("offset", {"type": "string"}), _query("tags", {"type": "string"})]
        params += [_query(name, {"type": "string"}) for name in cls.extra_args]
        return _op(op_id, f"List {entity}", _ok("200", _REF + f"{entity}.page"),
                   ("400",) + missing, parameters=params)
    return _op(op_id, f"Create one of the {entity}", _ok("201", _REF + entity),
               _WRITE_ERRORS + missing, body=_body_ref(entity, "create"))


def _entity(op_id: str, entity: str, parent: str | None, method: str,
            foreign: bool = False) -> dict:
    where = f" of one of the {parent}" if foreign else ""
    if method == "GET":
        return _op(op_id, f"Read one of the {entity}{where}", _ok("200", _REF + entity),
                   ("404",))
    if method == "DELETE":
        return _op(op_id, f"Delete one of the {entity}",
                   {"204": {"description": "Deleted, or there was nothing to delete"}},
                   ("404",) if parent else ())
    mode = "update" if method == "PATCH" else "create"
    summary = {"PUT": "Create or replace", "PATCH": "Update"}[method]
    missing = ("404",) if (parent or foreign or method == "PATCH") else ()
    return _op(op_id, f"{summary} one of the {entity}{where}", _ok("200", _REF + entity),
               _WRITE_ERRORS + missing, body=_body_ref(entity, mode))


def _other(op_id: str, rule: Rule, view: Callable, method: str) -> dict:
    summary = (view.__doc__ or "").strip().splitlines()[0] if view.__doc__ else rule.rule
    errors: tuple[str, ...] = ("404",) if rule.arguments else ()
    media = getattr(view, "openapi_media", None)
    if media:  # a text answer (GET /metrics: the Prometheus text format)
        return _op(op_id, summary, {"200": {"description": "Success", "content": {
            media: {"schema": {"type": "string"}}}}}, errors)
    body = None
    if method == "POST":
        # /schemas/{entity}/validate and /schemas/plugins/validate take an entity.
        body = (_body_ref("plugins", "create") if "plugins" in rule.rule
                else {"type": "object"})
        errors += ("400", "413", "415")
    return _op(op_id, summary, _ok("200", None), errors, body=body)


def _op(op_id: str, summary: str, ok: dict, errors: tuple[str, ...],
        body: dict | None = None, parameters: list | None = None) -> dict:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": dict(ok)}
    for code in errors:
        op["responses"][code] = {"$ref": f"#/components/responses/{code}"}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {_JSON: {"schema": body}}}
    return op


def _ok(code: str, ref: str | None) -> dict:
    schema = {"$ref": ref} if ref else {"type": "object"}
    return {code: {"description": "Success", "content": {_JSON: {"schema": schema}}}}


def _query(name: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _body_ref(entity: str, mode: str) -> dict:
    return {"$ref": _REF + f"{entity}.{mode}"}


# -- components -----------------------------------------------------------------------

def _components(db: Any) -> dict:
    out: dict[str, Any] = {
        "Message": {"type": "object", "required": ["message"],
                    "properties": {"message": {"type": "string"}}},
        "Error": {"type": "object", "required": ["code", "name", "message"],
                  "description": "A datastore error: schema violation (code 2), "
                                 "unique violation (5), invalid offset (7), ...",
                  "properties": {"code": {"type": "integer"}, "name": {"type": "string"},
                                 "message": {"type": "string"},
                                 "fields": {"type": "object"}}},
    }
    for name, dao in db.daos.items():
        out.update(_entity_schemas(name, dao.schema))
    plugins = {name: p.spec.describe() for name, p in sorted(db.loaded_plugins.items())}
    entity = db.daos["plugins"].schema.describe()
    for name, described in plugins.items():
        for mode in ("create", "update"):
            out[f"plugin.{name}.{mode}"] = _plugin_body(entity, name, described, mode)
    for mode, combine in (("create", "oneOf"), ("update", "anyOf")):
        # Creating names one plugin (a const per schema); an update may not.
        out[f"plugins.{mode}"] = {combine: [{"$ref": _REF + f"plugin.{name}.{mode}"}
                                            for name in plugins]}
    return out


def _entity_schemas(name: str, schema: type[EntitySchema]) -> dict:
    described = list(schema.describe()["fields"])
    # Fields Kong's schema description leaves out (a ttl entity's ``ttl``).
    listed = {k for item in described for k in item}
    described += [{k: fld.describe()} for k, fld in schema.field_map().items()
                  if k not in listed]
    shorthands = [{short: {"type": "string"}} for short in schema.shorthands]
    out = {name: jsonschema.record(described, "output"),
           f"{name}.page": {
               "type": "object", "required": ["data", "next"],
               "properties": {"data": {"type": "array", "items": {"$ref": _REF + name}},
                              "next": {"type": ["string", "null"]},
                              "offset": {"type": "string"}}}}
    if name != "plugins":  # plugin bodies depend on the plugin: see _plugin_body
        for mode in ("create", "update"):
            out[f"{name}.{mode}"] = body = jsonschema.record(described, mode, shorthands)
            if shorthands and body.get("required"):
                # A shorthand (services' url) may stand for the required fields.
                body["anyOf"] = [{"required": body.pop("required")}] + [
                    {"required": [short]} for short in schema.shorthands]
    return out


def _plugin_body(entity: dict, name: str, plugin: dict, mode: str) -> dict:
    """The plugins entity with one plugin's schema as its subschema, as Kong
    validates a plugin."""
    own = {k: v for item in plugin.get("fields", ()) for k, v in item.items()}
    fields = [{k: own.get(k, v)} for item in entity["fields"] for k, v in item.items()]
    out = jsonschema.record(fields, mode)
    out["properties"]["name"] = {"const": name}
    return out


def _responses() -> dict:
    message = {_JSON: {"schema": {"$ref": _REF + "Message"}}}
    either = {_JSON: {"schema": {"anyOf": [{"$ref": _REF + "Error"},
                                           {"$ref": _REF + "Message"}]}}}
    return {
        "400": {"description": "Schema violation, or a body that cannot be parsed "
                               "(`Cannot parse JSON body`)", "content": either},
        "404": {"description": "Not found", "content": message},
        "409": {"description": "Unique or primary key violation", "content": either},
        "413": {"description": "Payload too large", "content": message},
        "415": {"description": "Unsupported media type", "content": message},
    }
