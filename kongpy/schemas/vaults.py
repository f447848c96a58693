"""The ``vaults`` entity (Kong 3.9): a named, configured secret store.

Kong OSS bundles one vault, ``env`` (process environment variables). A
vault entity gives it a ``prefix`` by which references name it
(``{vault://<prefix>/<secret>}``) and a config of its own (``config.prefix``
is prepended to the variable name).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from marshmallow import ValidationError

from kongpy.errors import SchemaViolation
from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema

# Kong's BUNDLED_VAULTS in OSS.
VAULT_NAMES = ("env",)

# ^[a-z][a-z%d-]-[a-z%d]+$ and, for env's config.prefix, ^[%a_-][%a%d_-]*$.
_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]*?[a-z0-9]+$")
_ENV_PREFIX_RE = re.compile(r"^[A-Za-z_-][A-Za-z0-9_-]*$")


def _match(pattern: re.Pattern, lua_pattern: str) -> f.Check:
    def check(value: str) -> str | None:
        return None if pattern.match(value) else f"invalid value: {value}"
    check.lua_pattern = lua_pattern  # type: ignore[attr-defined]
    return check


def _not_one_of(value: str) -> str | None:
    return f"must not be one of: {', '.join(VAULT_NAMES)}" if value in VAULT_NAMES else None


# The config record of each vault name (Kong's vault sub-schemas).
CONFIGS: dict[str, dict[str, f.KongField]] = {
    "env": {"prefix": f.String(checks=[_match(_ENV_PREFIX_RE, "^[%a_-][%a%d_-]*$")],
                               describe={"match": "^[%a_-][%a%d_-]*$"})},
}


class VaultSchema(EntitySchema):
    entity_name = "vaults"
    endpoint_key = "prefix"
    unique_fields = ("prefix",)

    id = t.uuid()
    prefix = f.String(required=True,
                      checks=[_match(_PREFIX_RE, "^[a-z][a-z%d-]-[a-z%d]+$"), _not_one_of],
                      describe={"unique": True, "match": "^[a-z][a-z%d-]-[a-z%d]+$",
                                "not_one_of": list(VAULT_NAMES)})
    name = f.String(required=True)
    description = f.String()
    config = f.Record({}, describe={"abstract": True})
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    tags = t.tags()

    @classmethod
    def validate(cls, raw: Any) -> dict:
        """The config record is the named vault's (Kong's sub-schema)."""
        if not isinstance(raw, Mapping):
            return super().validate(raw)
        raw = dict(raw)
        config = raw.pop("config", None)
        name = raw.get("name")
        if isinstance(name, str) and name not in CONFIGS:
            # Kong stops at a sub-schema it does not know (as for a plugin
            # that is not enabled): the other fields are not checked.
            raise SchemaViolation({"name": f"vault '{name}' is not installed"})
        errors: dict[str, Any] = {}
        try:
            data = super().validate(raw)
        except SchemaViolation as exc:
            errors, data = dict(exc.fields or {}), {}
        fields = CONFIGS.get(name) if isinstance(name, str) else None
        if fields is not None:
            try:
                data["config"] = f.Record(fields).validate_value({} if config is None else config)
            except ValidationError as exc:
                errors["config"] = f.first_error(exc.messages)
        if errors:
            raise SchemaViolation(errors)
        return data
