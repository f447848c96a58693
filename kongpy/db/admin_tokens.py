"""Admin API tokens (``Kong-Admin-Token``), kept in a table of their own.

Not a Kong entity: no DAO, no cluster event, no tag, no Admin API collection,
never part of the data-plane snapshot. Every node reads the same table, so a
token made or revoked through any node's CLI counts on all of them. Rows are
``{name, hash, read_only, created_at}``; the token itself is shown once, when
it is made, and never stored.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import NamedTuple

from kongpy.db.strategies.base import Conflict, Strategy, TableDef
from kongpy.errors import TokenError

TABLE = TableDef(name="admin_tokens", primary_key="name")
# The core migration step that creates TABLE (kongpy/db/migrations/core.py).
STEP = "002_admin_tokens"
_TOKEN_BYTES = 32
_PAGE = 1000
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class Holder(NamedTuple):
    name: str
    read_only: bool


def hash_token(token: str) -> str:
    # A token is 256 random bits, not a password: nothing can be guessed from
    # its hash, so one SHA-256 round is enough (no salt, no slow KDF needed).
    return hashlib.sha256(token.encode()).hexdigest()


def create(strategy: Strategy, name: str, read_only: bool = False) -> str:
    """Stores a new token's hash under ``name``; returns the token (shown once)."""
    if not _NAME_RE.match(name):
        raise TokenError(f"invalid token name '{name}': 1 to 128 letters, digits, "
                         "'.', '_', '@' or '-', starting with a letter or digit")
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    row = {"name": name, "hash": hash_token(token), "read_only": bool(read_only),
           "created_at": int(time.time())}
    try:
        with strategy.transaction():
            strategy.insert(TABLE, row)
    except Conflict:
        raise TokenError(f"an admin token named '{name}' already exists") from None
    return token


def revoke(strategy: Strategy, name: str) -> None:
    with strategy.transaction():
        found = strategy.delete(TABLE, name)
    if not found:
        raise TokenError(f"no admin token named '{name}'")


def rows(strategy: Strategy) -> list[dict]:
    """Every stored row, by name."""
    found: list[dict] = []
    cursor = None
    while True:
        page, cursor = strategy.page(TABLE, _PAGE, cursor, {})
        found += page
        if cursor is None:
            return sorted(found, key=lambda row: row["name"])


def holders(strategy: Strategy) -> dict[str, Holder]:
    """Token hash -> who holds it: what the Admin API checks requests against."""
    return {row["hash"]: Holder(row["name"], bool(row["read_only"]))
            for row in rows(strategy)}
