"""Storage of the configuration history: numbered versions of the whole configuration.

Not Kong entities (no DAO, no cluster event, never in the snapshot): two
tables of their own, through the generic strategy interface so that SQLite,
PostgreSQL and Cassandra store them alike. ``config_history`` holds each
version's metadata (small, listed often); ``config_history_documents`` holds
its declarative document, zlib-compressed (read one at a time). Both are
keyed by the version number as text.

Versions count up from 1 and never repeat; only the newest ``size`` are
kept. Two writers racing for the same number meet on the primary key: the
loser takes the next number.
"""
from __future__ import annotations

import base64
import json
import time
import zlib
from typing import Any

from kongpy.db.strategies.base import Conflict, Strategy, TableDef

META = TableDef(name="config_history")
DOCUMENTS = TableDef(name="config_history_documents")
# The core migration step that creates both tables (kongpy/db/migrations/core.py).
STEP = "007_config_history"
DEFAULT_SIZE = 100
_PAGE = 1000
_RACES = 10


def entries(strategy: Strategy) -> list[dict]:
    """Every stored version's metadata, newest first."""
    found: list[dict] = []
    cursor = None
    while True:
        page, cursor = strategy.page(META, _PAGE, cursor, {})
        found += page
        if cursor is None:
            return sorted(found, key=lambda row: row["version"], reverse=True)


def entry(strategy: Strategy, version: int) -> dict | None:
    return strategy.select(META, str(version))


def document(strategy: Strategy, version: int) -> dict | None:
    row = strategy.select(DOCUMENTS, str(version))
    if row is None:
        return None
    return json.loads(zlib.decompress(base64.b64decode(row["document"])))


def append(strategy: Strategy, doc: dict, meta: dict[str, Any], size: int) -> dict:
    """Stores ``doc`` as the next version with ``meta``; returns the stored metadata."""
    packed = base64.b64encode(zlib.compress(
        json.dumps(doc, separators=(",", ":"), sort_keys=True).encode(), 6)).decode()
    for _ in range(_RACES):
        current = entries(strategy)
        version = current[0]["version"] + 1 if current else 1
        row = {**meta, "id": str(version), "version": version,
               "created_at": int(time.time())}
        try:
            with strategy.transaction():
                strategy.insert(META, row)
                strategy.insert(DOCUMENTS, {"id": str(version), "document": packed})
        except Conflict:
            continue
        _trim(strategy, [row] + current, size)
        return row
    raise Conflict(f"config_history: no free version after {_RACES} tries")


def _trim(strategy: Strategy, newest_first: list[dict], size: int) -> None:
    for old in newest_first[size:]:
        with strategy.transaction():
            strategy.delete(META, old["id"])
            strategy.delete(DOCUMENTS, old["id"])
