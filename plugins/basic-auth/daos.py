"""basic-auth: the ``basicauth_credentials`` entity and its Admin API paths.

The password is stored as the SHA1 hex digest of ``password .. consumer_id``
(Kong's format, so the data plane checks it with one hash); the clear text is
never stored or returned. Only a request that supplies ``password`` re-hashes.
"""
from __future__ import annotations

import hashlib
from typing import Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import CredentialSchema


def hash_password(password: str, consumer_id: str) -> str:
    return hashlib.sha1((password + consumer_id).encode("utf-8")).hexdigest()


class BasicAuthCredentialSchema(CredentialSchema):
    entity_name = "basicauth_credentials"
    endpoint_key = "username"
    unique_fields = ("username",)

    username = f.String(required=True, describe={"unique": True})
    password = f.String(required=True, describe={"encrypted": True})
    tags = t.tags()

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        if "password" in supplied and data.get("password") and data.get("consumer"):
            data["password"] = hash_password(data["password"], data["consumer"]["id"])
        return data


ENTITIES = [BasicAuthCredentialSchema]
ENDPOINTS = [BasicAuthCredentialSchema.endpoint("basic-auths", "basic-auth")]
