"""basic-auth: the ``basicauth_credentials`` entity and its Admin API paths.

A password is stored as ``$pbkdf2-sha256$i=<iterations>$<salt>$<hash>``
(PBKDF2-HMAC-SHA256, a random 16-byte salt, a 32-byte hash, both in standard
base64 with padding; docs/contracts.md §1); the clear text is never stored or
returned. Only a request that supplies ``password`` hashes it. Rows imported
from Kong keep Kong's SHA-1 hex of ``password .. consumer_id`` until their
next successful login, when the data plane hands over a PBKDF2 hash of the
same password and the sync loop stores it by compare-and-set
(:meth:`BasicAuthCredentialSchema.accepts_rehash` says which it accepts).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import Mapping, NamedTuple

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import CredentialSchema

# 2.3 ms here, 2.4 ms on the data plane (reference machine); docs/plugins.md says why.
ITERATIONS = 10_000
SALT_BYTES = 16
HASH_BYTES = 32
_B64 = r"[A-Za-z0-9+/]+=*"
_PBKDF2 = re.compile(rf"\$pbkdf2-sha256\$i=([1-9][0-9]{{0,6}})\$({_B64})\$({_B64})")
_LEGACY = re.compile(r"[0-9a-f]{40}")


class Pbkdf2Hash(NamedTuple):
    iterations: int
    salt: bytes
    digest: bytes


def hash_password(password: str, salt: bytes | None = None,
                  iterations: int = ITERATIONS) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations,
                                 HASH_BYTES)
    return (f"$pbkdf2-sha256$i={iterations}${base64.b64encode(salt).decode()}"
            f"${base64.b64encode(digest).decode()}")


def parse_hash(value: object) -> Pbkdf2Hash | None:
    """The parts of a stored PBKDF2 value, or None when it is not one."""
    m = _PBKDF2.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    try:
        salt = base64.b64decode(m.group(2), validate=True)
        digest = base64.b64decode(m.group(3), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Pbkdf2Hash(int(m.group(1)), salt, digest)


def is_legacy_hash(value: object) -> bool:
    """Kong's format: 40 lowercase hex digits (SHA-1 of password .. consumer id)."""
    return isinstance(value, str) and _LEGACY.fullmatch(value) is not None


class BasicAuthCredentialSchema(CredentialSchema):
    entity_name = "basicauth_credentials"
    endpoint_key = "username"
    unique_fields = ("username",)
    kong_cache_key = ("username",)
    rehash_field = "password"

    username = f.String(required=True, describe={"unique": True})
    password = f.String(required=True, describe={"encrypted": True})
    tags = t.tags()

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        if "password" in supplied and data.get("password"):
            data["password"] = hash_password(data["password"])
        return data

    @classmethod
    def accepts_rehash(cls, old: str, new: str) -> bool:
        """Only a legacy SHA-1 value, only for a PBKDF2 value at least as strong as ours."""
        parsed = parse_hash(new)
        return (is_legacy_hash(old) and parsed is not None
                and parsed.iterations >= ITERATIONS and len(parsed.salt) >= SALT_BYTES
                and len(parsed.digest) == HASH_BYTES)


ENTITIES = [BasicAuthCredentialSchema]
ENDPOINTS = [BasicAuthCredentialSchema.endpoint("basic-auths", "basic-auth")]
