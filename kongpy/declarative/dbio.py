"""``kongpy config db_import``: a checked declarative configuration into a datastore.

Like Kong's ``db_import``: every entity is upserted by id in dependency
order (parents first), nothing is deleted, and a re-run writes the same
rows again. The whole document is checked before the first write. Each
upsert goes through the entity's DAO, so it validates as the Admin API
does and appends its cluster event: running nodes see the import through
their sync loop, without a restart.

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
    with db.strategy.transaction():
        for entry in config.entries:
            dao = db.daos[entry.table]
            dao.upsert(entry.data["id"], entry.data, transform=config.transform)
            count += 1
    log.info("imported %d entities", count)
    return count
