"""``/schemas/{entity}``, ``/schemas/{entity}/validate`` and ``/schemas/vaults/{name}``."""
from __future__ import annotations

from flask import Blueprint, Response

from kongpy import schemas
from kongpy.admin.resources import json_response, read_body, state
from kongpy.schemas import fields as f
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.vaults import CONFIGS as VAULT_CONFIGS


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


def _vault(name: str) -> Response:
    """A vault's own schema (Kong's vault sub-schema): its config record."""
    config = VAULT_CONFIGS.get(name)
    if config is None:
        return json_response({"message": f"No vault named '{name}'"}, 404)
    return json_response({"fields": [{"config": f.Record(config).describe()}]})


def blueprint() -> Blueprint:
    bp = Blueprint("schemas", __name__)
    bp.add_url_rule("/schemas/<name>", "schema", _get, methods=["GET"])
    bp.add_url_rule("/schemas/vaults/<name>", "schema_vault", _vault, methods=["GET"])
    bp.add_url_rule("/schemas/<name>/validate", "schema_validate", _validate, methods=["POST"])
    return bp
