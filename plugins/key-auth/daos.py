"""key-auth: the ``keyauth_credentials`` entity and its Admin API paths."""
from __future__ import annotations

import secrets
from typing import Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema


class KeyAuthCredentialSchema(EntitySchema):
    entity_name = "keyauth_credentials"
    endpoint_key = "key"
    unique_fields = ("key",)
    uses_ttl = True

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    consumer = t.foreign("consumers", on_delete="cascade", required=True)
    key = f.String(required=True, auto=True, describe={"unique": True})
    tags = t.tags()
    ttl = t.integer(0, 100000000)

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        if not data.get("key"):
            data["key"] = secrets.token_hex(16)
        return data


ENTITIES = [KeyAuthCredentialSchema]
ENDPOINTS = [{"entity": "keyauth_credentials", "path": "key-auths", "nested": "key-auth"}]
