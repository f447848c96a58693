"""Configuration history: a numbered version after every change, and rollback.

Every successful change (an Admin API write through
kongpy/declarative/recorder.py, ``kongpy config db_import``, a rollback)
leads to :func:`record` once it is committed: the whole configuration
is exported (kongpy/declarative/export.py), compared with the newest stored
version and, when it differs, stored as the next version with its origin and
a summary of what changed (kongpy/declarative/diff.py). Recording after the
commit keeps it out of the write's transaction: a history failure never
undoes a write (it is logged). The cost is one export per version
(``config_history_size = 0`` turns the history off).

:func:`rollback` replaces the whole configuration with a stored version as
load_into_db does, plus deleting what the version does not hold: one
transaction on SQLite and PostgreSQL (on Cassandra, one atomic write per
entity, as for an import). Each entity write appends its cluster event, so
every node follows through its sync loop.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

from kongpy.db import history as store
from kongpy.declarative import dbio, diff, export
from kongpy.declarative.catalog import Catalog
from kongpy.errors import KongpyError

log = logging.getLogger(__name__)

# The origin of changes made by ``kongpy config`` commands.
CLI_ORIGIN = "cli"


class HistoryNotFound(KongpyError):
    """No stored version with that number (never recorded, or trimmed)."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no configuration version {version} in the history")
        self.version = version


def size_of(config: Any) -> int:
    value = config.get("config_history_size") if config is not None else None
    return store.DEFAULT_SIZE if value is None else int(value)


def record(db: Any, origin: str, size: int, *, force: bool = False,
           rollback_of: int | None = None) -> dict | None:
    """Stores the current configuration as a new version; its metadata, or None
    when the history is off or (unless ``force``) nothing changed."""
    if size <= 0:
        return None
    # read before the export: the document holds at least this version
    event_version = db.events.latest()
    current = export.export(db)
    newest = store.entries(db.strategy)
    previous = store.document(db.strategy, newest[0]["version"]) if newest else None
    found = diff.changes(previous, current)
    if not found and previous is not None and not force:
        return None
    meta = {"origin": origin, "event_version": event_version,
            "summary": diff.summary(found),
            "rollback_of": rollback_of}
    return store.append(db.strategy, current, meta, size)


def document(db: Any, version: int) -> dict:
    doc = store.document(db.strategy, version)
    if doc is None:
        raise HistoryNotFound(version)
    return doc


def compare(db: Any, version: int, against: int | None = None) -> dict:
    """What changed from ``against`` (by default the version before) to ``version``."""
    new = document(db, version)
    other = version - 1 if against is None else against
    return diff.diff(document(db, other), new, other, version)


def restore(db: Any, version: int) -> int:
    """Makes the datastore hold exactly ``version``; the number of entities written."""
    from kongpy import declarative  # the parser is only needed for a rollback

    doc = document(db, version)
    config = declarative.parse(json.dumps(doc), db, f"version {version}")
    keep = {(entry.table, entry.data["id"]) for entry in config.entries}
    with db.strategy.transaction():
        # Rows already as the version holds them are not written again: the
        # new version then shows only what the rollback changed. A cascade
        # below never takes one of them: a kept row's parent is kept too.
        same = _rows(doc).items() & _rows(export.export(db)).items()
        for table in reversed(Catalog.of(db).names()):
            if table in export.SKIPPED:
                continue
            dao = db.daos[table]
            for row in list(dao.each()):
                if (table, row["id"]) not in keep:
                    dao.delete(row["id"])  # False when a cascade took it already
        unchanged = {key for key, _ in same}
        changed = [e for e in config.entries if (e.table, e.data["id"]) not in unchanged]
        return dbio.load_into_db(db, dataclasses.replace(config, entries=changed))


def _rows(doc: dict) -> dict[tuple[str, str], str]:
    """(table, id) -> the row as canonical JSON (hashable, comparable)."""
    return {(table, row["id"]): json.dumps(row, sort_keys=True)
            for table, rows in doc.items() if isinstance(rows, list) for row in rows}


def rollback(db: Any, version: int, origin: str, size: int) -> dict:
    """Restores ``version`` and records the result as a new version."""
    restore(db, version)
    # with the history off (size 0) the rollback is still recorded, trimming nothing
    keep = size if size > 0 else len(store.entries(db.strategy)) + 1
    meta = record(db, origin, keep, force=True, rollback_of=version)
    assert meta is not None
    return meta
