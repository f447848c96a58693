"""hmac-auth: the ``hmacauth_credentials`` entity and its Admin API paths."""
from __future__ import annotations

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import CredentialSchema


class HmacAuthCredentialSchema(CredentialSchema):
    entity_name = "hmacauth_credentials"
    endpoint_key = "username"
    unique_fields = ("username",)
    kong_cache_key = ("username",)
    random_fields = ("secret",)

    username = f.String(required=True, describe={"unique": True})
    secret = f.String(auto=True, describe={"encrypted": True})
    tags = t.tags()


ENTITIES = [HmacAuthCredentialSchema]
ENDPOINTS = [HmacAuthCredentialSchema.endpoint("hmac-auths", "hmac-auth")]
