"""basic-auth's stored password format, computed independently of the Lua code
that makes it in the node (lua/kong/plugins/basic-auth/password.lua): the
tests use it as an oracle and to build rows an import would bring."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import NamedTuple

ITERATIONS = 10_000
SALT_BYTES = 16
HASH_BYTES = 32
_B64 = r"[A-Za-z0-9+/]+=*"
_PBKDF2 = re.compile(rf"\$pbkdf2-sha256\$i=([1-9][0-9]{{0,6}})\$({_B64})\$({_B64})")


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
    m = _PBKDF2.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        return None
    try:
        salt = base64.b64decode(m.group(2), validate=True)
        digest = base64.b64decode(m.group(3), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Pbkdf2Hash(int(m.group(1)), salt, digest)


def legacy_hash(password: str, consumer_id: str) -> str:
    """Kong's format: SHA-1 hex of password .. consumer id."""
    return hashlib.sha1((password + consumer_id).encode("utf-8")).hexdigest()
