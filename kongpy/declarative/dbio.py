"""``kongpy config db_import``: a checked declarative configuration into a datastore.

Like Kong's ``db_import``: every entity is upserted by id in dependency
order (parents first), nothing is deleted, and a re-run writes the same
rows again. The whole document is checked before the first write. Each
upsert goes through the entity's DAO, so it validates as the Admin API
does and appends its cluster event: running nodes see the import through
their sync loop, without a restart.

An entity that has neither an id nor a key to derive one from gets a
random id (as in Kong); one of those with a unique endpoint key (a key-auth
credential's ``key``) that is already stored keeps the stored row's id, so
that running the same import again updates it instead of failing on its
key. Kong's import fails there; entities without any key (certificates)
are new rows on every run, as in Kong: give them ids.

On SQLite and PostgreSQL the import is one transaction: all of it or
nothing. On Cassandra each entity is its own atomic write (see
kongpy/db/dao.py): an import cut short leaves the entities it reached, and
running it again completes it.
"""
from __future__ import annotations

import logging
from typing import Any

from kongpy.declarative.validate import Config

log = logging.getLogger(__name__)


def load_into_db(db: Any, config: Config) -> int:
    """Upsert every entity of ``config``; the number written."""
    count = 0
    stored: dict[str, str] = {}  # random id -> the id of the row already stored
    with db.strategy.transaction():
        for entry in config.entries:
            dao = db.daos[entry.table]
            data = _remapped(dao.schema, entry.data, stored)
            checked = _remapped(dao.schema, entry.data_out, stored)
            if entry.random_id:
                found = _stored_by_key(dao, data)
                if found is not None:
                    stored[data["id"]] = data["id"] = checked["id"] = found
            # the document was validated whole before the first write
            dao.upsert(data["id"], data, transform=config.transform, checked=checked)
            count += 1
    log.info("imported %d entities", count)
    return count


def _remapped(schema: Any, data: dict, stored: dict[str, str]) -> dict:
    out = dict(data)
    for name in schema.foreign_fields():
        ref = out.get(name)
        if isinstance(ref, dict) and ref.get("id") in stored:
            out[name] = {"id": stored[ref["id"]]}
    return out


def _stored_by_key(dao: Any, data: dict) -> str | None:
    ekey = dao.schema.endpoint_key
    if not ekey or ekey not in dao.schema.unique_fields or data.get(ekey) is None:
        return None
    row = dao.select_by(ekey, data[ekey])
    return row["id"] if row else None
