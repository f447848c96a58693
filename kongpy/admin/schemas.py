"""``/schemas/{entity}`` and ``/schemas/{entity}/validate``."""
from __future__ import annotations

from flask import Blueprint, Response

from kongpy import schemas
from kongpy.admin.resources import json_response, read_body, state
from kongpy.schemas.base import EntitySchema


def _lookup(name: str) -> type[EntitySchema] | None:
    dao = state()["db"].daos.get(name)
    return dao.schema if dao is not None else schemas.get(name)


def _get(name: str) -> Response:
    schema = _lookup(name)
    if schema is None:
        return json_response({"message": f"No entity named '{name}'"}, 404)
    return json_response(schema.describe())


def _validate(name: str) -> Response:
    schema = _lookup(name)
    if schema is None:
        return json_response({"message": f"No entity named '{name}'"}, 404)
    schema.validate(read_body(schema))
    return json_response({"message": "schema validation successful"})


def blueprint() -> Blueprint:
    bp = Blueprint("schemas", __name__)
    bp.add_url_rule("/schemas/<name>", "schema", _get, methods=["GET"])
    bp.add_url_rule("/schemas/<name>/validate", "schema_validate", _validate, methods=["POST"])
    return bp
