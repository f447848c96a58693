"""jwt: the ``jwt_secrets`` entity and its Admin API paths.

Asymmetric algorithms need ``rsa_public_key``: a PEM ``PUBLIC KEY`` that
OpenSSL (the ``openssl`` CLI, the library the data plane verifies with) reads.
"""
from __future__ import annotations

import base64
import binascii
import re
import shutil
import subprocess
from typing import Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import CredentialSchema, entity_error

ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
              "ES512", "PS256", "PS384", "PS512", "EdDSA")
ASYMMETRIC = tuple(a for a in ALGORITHMS if not a.startswith("HS"))
INVALID_KEY = "invalid key"
CONDITIONAL = "failed conditional validation given value of field 'algorithm'"

_PEM_RE = re.compile(r"-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*"
                     r"-----END PUBLIC KEY-----", re.S)


def _openssl_reads(pem: str) -> bool | None:
    """True/False as ``openssl pkey -pubin`` says; None without the CLI."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    try:
        proc = subprocess.run([binary, "pkey", "-pubin", "-noout"], input=pem.encode(),
                              capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.returncode == 0


def valid_public_key(text: str) -> bool:
    """A PEM SubjectPublicKeyInfo OpenSSL can load."""
    match = _PEM_RE.search(text)
    if match is None:
        return False
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    if not der or der[0] != 0x30:
        return False
    verdict = _openssl_reads(match.group(0) + "\n")
    return True if verdict is None else verdict


class JwtSecretSchema(CredentialSchema):
    entity_name = "jwt_secrets"
    endpoint_key = "key"
    unique_fields = ("key",)
    kong_cache_key = ("key",)
    random_fields = ("key", "secret")

    key = f.String(auto=True, describe={"unique": True})
    secret = f.String(auto=True)
    rsa_public_key = f.String(default=None)
    algorithm = t.string_one_of(ALGORITHMS, default="HS256")
    tags = t.tags()

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        if "algorithm" in errors or "rsa_public_key" in errors:
            return
        if data.get("algorithm") not in ASYMMETRIC:
            return
        key = data.get("rsa_public_key")
        if key is None:
            errors["rsa_public_key"] = f.REQUIRED
        elif not valid_public_key(key):
            errors["rsa_public_key"] = INVALID_KEY
        else:
            return
        entity_error(errors, CONDITIONAL)


ENTITIES = [JwtSecretSchema]
ENDPOINTS = [JwtSecretSchema.endpoint("jwts", "jwt")]
