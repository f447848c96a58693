"""``keys`` and ``key_sets`` (Kong 3.9): keys for plugins to sign and verify with.

A key is a JWK (a JSON string) or a PEM pair (``pem.public_key`` and/or
``pem.private_key``), never both; ``kid`` is unique within its set (Kong's
cache key ``kid`` + ``set``; keys without a set share one namespace). Both
the JWK and the PEM keys are referenceable: a vault reference is stored as
given and not checked, as Kong does. Deleting a set deletes its keys.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from kongpy.schemas import fields as f, jwk, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error, is_empty, quoted
from kongpy.schemas.references import is_reference

# Kong's KEY_FORMATS constant.
KEY_FORMATS = ("jwk", "pem")
_CHECKED = ("jwk", "pem", "kid")


def _check_pem(value: Mapping[str, Any]) -> str | None:
    public, private = value.get("public_key"), value.get("private_key")
    if is_reference(public) or is_reference(private):
        return None
    return jwk.pem_pair_error(public, private)


def pem_field() -> f.Record:
    """Kong's ``typedefs.pem``."""
    return f.Record({"private_key": f.String(describe={"referenceable": True,
                                                       "encrypted": True}),
                     "public_key": f.String(describe={"referenceable": True})},
                    at_least_one_of=("private_key", "public_key"), checks=[_check_pem])


def _jwk_error(text: str, kid: Any) -> str | None:
    """Kong's JWK part of the keys entity check, in its order."""
    if is_reference(text):
        return None
    try:
        members = json.loads(text)
    except ValueError:
        return "could not json decode jwk string"
    # Kong indexes whatever the string decodes to; a number, boolean or null
    # raises there (a 500), which here is the mismatch it stands for.
    found = members.get("kid") if isinstance(members, dict) else None
    if found != kid:
        return "kid in jwk.kid must be equal to keys.kid"
    if not jwk.loads(members):
        return "could not load JWK, likely not a valid key"
    return jwk.record_error(members)


def _nonempty(value: Any) -> bool:
    # A record given as an object is never empty to Kong: its missing members
    # are filled with nulls before the check sees it.
    return isinstance(value, dict) or not is_empty(value)


class KeySetSchema(EntitySchema):
    entity_name = "key_sets"
    endpoint_key = "name"
    unique_fields = ("name",)

    id = t.uuid()
    name = f.String(describe={"unique": True, "indexed": True})
    tags = t.tags()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()


class KeySchema(EntitySchema):
    entity_name = "keys"
    endpoint_key = "name"
    unique_fields = ("name",)
    cache_key = ("kid", "set")

    id = t.uuid()
    set = t.foreign("key_sets", on_delete="cascade")
    name = f.String(describe={"unique": True})
    kid = f.String(required=True, describe={"unique": False})
    jwk = f.String(describe={"referenceable": True, "encrypted": True})
    pem = pem_field()
    tags = t.tags()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()

    describe_checks = [
        {"mutually_exclusive": list(KEY_FORMATS)},
        {"at_least_one_of": list(KEY_FORMATS)},
        {"custom_entity_check": {"field_sources": list(_CHECKED)}},
    ]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        # at_least_one_of also looks at invalid values (Kong runs it with
        # them); mutually_exclusive does not run when one is invalid.
        given = [n for n in KEY_FORMATS if _nonempty(raw.get(n) if n in errors else data.get(n))]
        if len(given) > 1 and not any(n in errors for n in KEY_FORMATS):
            entity_error(errors, "only one or none of these fields must be set: "
                                 + quoted(KEY_FORMATS))
        if not given:
            entity_error(errors, "at least one of these fields must be non-empty: "
                                 + quoted(KEY_FORMATS))
        if any(n in errors for n in _CHECKED) or not isinstance(data.get("jwk"), str):
            return
        message = _jwk_error(data["jwk"], data.get("kid"))
        if message:
            entity_error(errors, message)
