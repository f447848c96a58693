"""hmac-auth: the ``hmacauth_credentials`` entity and its Admin API paths."""
from __future__ import annotations

import secrets
from typing import Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema


class HmacAuthCredentialSchema(EntitySchema):
    entity_name = "hmacauth_credentials"
    endpoint_key = "username"
    unique_fields = ("username",)

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    consumer = t.foreign("consumers", on_delete="cascade", required=True)
    username = f.String(required=True, describe={"unique": True})
    secret = f.String(auto=True, describe={"encrypted": True})
    tags = t.tags()

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        if not data.get("secret"):
            data["secret"] = secrets.token_hex(16)
        return data


ENTITIES = [HmacAuthCredentialSchema]
ENDPOINTS = [{"entity": "hmacauth_credentials", "path": "hmac-auths", "nested": "hmac-auth"}]
