"""DB-less nodes (``database = off``): the configuration a node serves, from a document.

A DB-less node keeps the configuration it serves in a private SQLite file of
its prefix (``dbless.db``), bootstrapped at start like the embedded
datastore, so the Admin API's reads, the sync loop and everything else work
on it unchanged. Its content only ever comes from a declarative document:
``declarative_config`` or ``declarative_config_string`` at start, ``POST
/config`` at runtime. Loading one replaces the whole configuration in one
transaction (every row of the previous one deleted, every entity of the new
one inserted, each with its cluster event), so the sync loop sees the old
configuration or the new one, never a mix; a document that is not valid
changes nothing. Entity writes through the Admin API are refused with Kong's
405 (kongpy/db/dao.py).

The file outlives restarts: a node without ``declarative_config`` serves what
it was last given. As in Kong, ``declarative_config`` (or the string) is
loaded at every start and replaces it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from typing import Any, Mapping

from kongpy import declarative
from kongpy.declarative import DeclarativeError
from kongpy.declarative.dbio import load_into_db
from kongpy.declarative.errors import ErrorTree
from kongpy.declarative.export import SKIPPED
from kongpy.declarative.validate import Config as Document
from kongpy.errors import ConfigError

log = logging.getLogger(__name__)

STORE_FILE = "dbless.db"
# The hash of the text last loaded, kept next to the store (``?check_hash=1``).
HASH_FILE = "dbless.hash"
EMPTY_HASH = "0" * 32
_COUNTING_PLUGINS = frozenset({"rate-limiting", "response-ratelimiting"})

# One load at a time per process (POST /config); SQLite serialises processes.
_LOCK = threading.Lock()


def enabled(config: Mapping[str, Any]) -> bool:
    return str(config.get("database") or "").lower() == "off"


def store_path(config: Mapping[str, Any]) -> str:
    prefix = config.get("prefix")
    if not prefix:
        raise ConfigError("a prefix is required when database = off", prop="prefix")
    return os.path.join(str(prefix), STORE_FILE)


def text_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # Kong's config hash


def current_hash(config: Mapping[str, Any]) -> str:
    try:
        with open(os.path.join(str(config["prefix"]), HASH_FILE), encoding="ascii") as fh:
            return fh.read().strip() or EMPTY_HASH
    except FileNotFoundError:
        return EMPTY_HASH


def _save_hash(config: Mapping[str, Any], value: str) -> None:
    path = os.path.join(str(config["prefix"]), HASH_FILE)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(value)
    os.replace(tmp, path)


def startup_document(config: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """(text, file name) of the configuration given in kongpy.conf, if any."""
    if config.get("declarative_config_string"):
        return str(config["declarative_config_string"]), None
    path = config.get("declarative_config")
    if not path:
        return None
    try:
        with open(str(path), encoding="utf-8") as fh:
            return fh.read(), str(path)
    except OSError as exc:
        raise ConfigError.invalid("declarative_config",
                                  f"cannot read {path}: {exc.strerror}") from None


def load_text(config: Mapping[str, Any], text: str, filename: str | None = None,
              node_id: str | None = None) -> Document:
    """Parses ``text`` and makes it the node's whole configuration.

    Raises DeclarativeError (nothing changed) when the document is not valid.
    """
    from kongpy import db as dblib

    with _LOCK:
        handle = dblib.open(config, node_id=node_id, writable=True)
        try:
            document = declarative.parse(text, handle, filename)
            check_policies(document)
            replace(handle, document)
        finally:
            handle.close()
        _save_hash(config, text_hash(text))
    return document


def rollback(config: Mapping[str, Any], version: int, origin: str, size: int,
             node_id: str | None = None) -> dict:
    """A history version made the node's whole configuration again
    (kongpy/declarative/history.py), as a load is: under the loader's lock."""
    from kongpy import db as dblib
    from kongpy.declarative import history

    with _LOCK:
        handle = dblib.open(config, node_id=node_id, writable=True)
        try:
            meta = history.rollback(handle, version, origin, size)
        finally:
            handle.close()
        # the text loaded last is no longer what the node serves
        _save_hash(config, "")
    return meta


def check_policies(document: Document) -> None:
    """Kong's rate-limiting schemas offer no ``cluster`` policy on DB-less
    nodes (there is no shared database to count in)."""
    errors = ErrorTree()
    for entry in document.entries:
        conf = entry.data.get("config") if entry.table == "plugins" else None
        if entry.data.get("name") in _COUNTING_PLUGINS and isinstance(conf, dict) \
                and conf.get("policy") == "cluster":
            errors.add(entry.path + ("config", "policy"), "expected one of: local, redis")
    if errors:
        raise DeclarativeError(errors, document.entries)


def replace(db: Any, document: Document) -> None:
    """Deletes every stored entity and inserts ``document``'s, in one transaction."""
    with db.strategy.transaction():
        removed = _delete_all(db)
        load_into_db(db, document)
    log.info("declarative configuration loaded (%d entities replaced %d)",
             len(document.entries), removed)


def _delete_all(db: Any) -> int:
    """Every exportable row, children first (cascades find nothing left)."""
    count = 0
    catalog = declarative.Catalog.of(db)
    emptied: set[str] = set()
    for table in reversed(catalog.names()):
        if table in SKIPPED:
            continue
        dao = db.daos[table]
        done = frozenset(emptied)
        for row in list(dao.each()):
            if dao.delete(row["id"], done):
                count += 1
        emptied.add(table)
    return count
