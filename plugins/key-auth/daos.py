"""key-auth: the ``keyauth_credentials`` entity and its Admin API paths."""
from __future__ import annotations

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import CredentialSchema


class KeyAuthCredentialSchema(CredentialSchema):
    entity_name = "keyauth_credentials"
    endpoint_key = "key"
    unique_fields = ("key",)
    kong_cache_key = ("key",)
    uses_ttl = True
    random_fields = ("key",)

    key = f.String(required=True, auto=True, describe={"unique": True})
    tags = t.tags()
    ttl = t.integer(0, 100000000)


ENTITIES = [KeyAuthCredentialSchema]
ENDPOINTS = [KeyAuthCredentialSchema.endpoint("key-auths", "key-auth")]
