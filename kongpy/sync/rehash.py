"""Stronger password hashes handed over by the data plane, written back.

After a successful login against a legacy hash (basic-auth rows imported from
Kong keep Kong's SHA-1), the data plane, the only side that ever sees the
clear text, computes the new hash and queues ``{entity, id, old, new}``
(docs/contracts.md §2, ``POST /rehash``). The sync loop takes the queue and
stores each entry by compare-and-set: only while the row still holds ``old``,
so a password changed meanwhile is never overwritten. The entity's schema
decides which replacements it accepts (``accepts_rehash``); each stored one
is a normal entity update with its cluster event, so every node learns of it
through the usual propagation. Neither hash is ever logged.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable

from kongpy.schemas.typedefs import is_uuid

log = logging.getLogger(__name__)


def apply(db: Any, entries: Iterable[dict[str, Any]]) -> int:
    """Stores the acceptable entries by compare-and-set; returns how many were stored."""
    stored = refused = stale = 0
    for entry in entries:
        dao = _target(db, entry)
        if dao is None:
            refused += 1
        elif dao.compare_and_set(entry["id"], dao.schema.rehash_field,
                                 entry["old"], entry["new"]):
            stored += 1
        else:
            stale += 1
    if stored or refused or stale:
        log.info("credential re-hashes: %d stored, %d outdated, %d refused",
                 stored, stale, refused)
    return stored


def _target(db: Any, entry: dict[str, Any]) -> Any:
    """The DAO to write ``entry`` with, or None when the entry is refused."""
    entity, pk, old, new = (entry.get(k) for k in ("entity", "id", "old", "new"))
    if not (isinstance(entity, str) and isinstance(pk, str) and is_uuid(pk)
            and isinstance(old, str) and isinstance(new, str)):
        return None
    dao = db.daos.get(entity)
    if dao is None or not dao.schema.rehash_field \
            or not dao.schema.accepts_rehash(old, new):
        return None
    return dao
