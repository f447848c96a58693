"""The datastore layer: ``open(config) -> DB`` with one DAO per entity.

No Flask here. Strategies do storage; :class:`~kongpy.db.dao.DAO` does the rest.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Iterable, Mapping

from kongpy import dbconf, schemas
from kongpy.db import paging
from kongpy.db.certificates import DAOS
from kongpy.db.dao import DAO
from kongpy.db.migrations import Migrations
from kongpy.db.strategies.base import Strategy
from kongpy.errors import ConfigError, DatastoreUnavailable, ForeignKeyViolation
from kongpy.schemas.base import EntitySchema

log = logging.getLogger(__name__)


class Events:
    """Read side of the cluster events (the configuration version)."""

    def __init__(self, strategy: Strategy) -> None:
        self._strategy = strategy

    def latest(self) -> int:
        return self._strategy.latest_event()

    def since(self, after: int, limit: int = 1000) -> list[dict]:
        return self._strategy.events_since(after, limit)


class Tags:
    """Kong's read-only ``tags`` entity: ``{tag, entity_name, entity_id}`` rows."""

    def __init__(self, strategy: Strategy) -> None:
        self._strategy = strategy

    def page(self, size: Any = None, offset: str | None = None,
             tag: str | None = None) -> tuple[list[dict], str | None]:
        size = paging.check_size(size)
        after = None
        if offset:
            key = paging.decode_offset(offset)
            if len(key) != 3:
                raise paging.InvalidOffset(offset, "bad json encoding")
            after = (key[0], key[1], key[2])
        rows = self._strategy.page_tags(size + 1, after, tag)
        token = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            token = paging.encode_offset([last["tag"], last["entity_name"], last["entity_id"]])
        return [{"entity_name": r["entity_name"], "entity_id": r["entity_id"], "tag": r["tag"]}
                for r in rows], token


class DB:
    """A datastore handle: DAOs by entity name, events, tags, migrations."""

    def __init__(self, strategy: Strategy, node_id: str | None = None,
                 entities: Iterable[type[EntitySchema]] | None = None) -> None:
        self.strategy = strategy
        self.node_id = node_id
        self.daos: dict[str, DAO] = {}
        self.events = Events(strategy)
        self.tags = Tags(strategy)
        self.migrations = Migrations(strategy)
        self.loaded_plugins: dict[str, Any] = {}  # name -> kongpy.plugins.Plugin
        # DB-less (database = off): entity writes refused unless loading a
        # declarative configuration (kongpy/dbless.py).
        self.dbless = False
        self.read_only = False
        # The read-only replica (pg_ro_*) for bulk reads, when configured.
        self.replica: DB | None = None
        for schema in entities or schemas.CORE_ENTITIES.values():
            self.register(schema)

    def register(self, schema: type[EntitySchema]) -> DAO:
        dao = DAOS.get(schema.entity_name, DAO)(self, schema)
        self.daos[schema.entity_name] = dao
        return dao

    def __getattr__(self, name: str) -> DAO:
        daos = self.__dict__.get("daos", {})
        if name in daos:
            return daos[name]
        raise AttributeError(name)

    @property
    def database(self) -> str:
        return self.strategy.name

    def append_event(self, channel: str, data: str) -> int | None:
        return self.strategy.append_event(channel, data, self.node_id, time.time())

    def before_delete(self, parent: DAO, row: Mapping[str, Any],
                      emptied: frozenset[str] = frozenset()) -> None:
        """Apply each child's on-delete rule: restrict raises, cascade deletes.
        Tables in ``emptied`` are known to hold no rows (not looked at)."""
        for child in list(self.daos.values()):
            if child.name in emptied:
                continue
            for field, fdef in child.schema.foreign_fields().items():
                if fdef.reference != parent.name:
                    continue
                if fdef.on_delete == "cascade":
                    for item in list(child.each(**{field: row["id"]})):
                        child.delete(item["id"])
                elif child.count(**{field: row["id"]}) > 0:
                    raise ForeignKeyViolation.restricted(parent.name, child.name)

    def for_bulk_reads(self) -> "DB":
        """Where a full read of the configuration goes: the replica once it has
        caught up with the version this handle reads, else this handle.

        A replica applies commits in their order, so its rows are at least as
        new as its own version; but it may lag, and a node must never build
        a configuration older than one it could have seen. A replica that
        lags or does not answer costs the primary this one read.
        """
        if self.replica is None:
            return self
        try:
            wanted = self.events.latest()
            if self.replica.events.latest() >= wanted:
                return self.replica
            log.info("the read-only replica is behind version %s; reading the primary", wanted)
        except DatastoreUnavailable as exc:
            log.warning("read-only replica unavailable, reading the primary: %s", exc)
        return self

    def ping(self) -> bool:
        return self.strategy.ping()

    def close(self) -> None:
        if self.replica is not None:
            self.replica.close()
        self.strategy.close()


def with_plugins(db: DB, config: Mapping[str, Any]) -> DB:
    """Attach the node's enabled plugins: their entities (DAOs) and migrations.

    Plugins are discovered by folder (kongpy/plugins.py); their ``daos.py`` and
    ``migrations.py`` speak only the generic entity and strategy interfaces.
    """
    from kongpy import plugins  # plugin files are loaded only once a datastore opens
    plugins.attach(db, config)
    return db


def open(config: Mapping[str, Any], node_id: str | None = None,  # noqa: A001
         writable: bool = False) -> DB:
    """Open the datastore named by ``config["database"]``.

    Server datastores connect lazily: opening never blocks on the network, and
    an unreachable server surfaces as DatastoreUnavailable at the first query.
    A DB-less node's store refuses entity writes (Kong's 405) unless opened
    ``writable`` (by the loader of declarative configurations only).
    """
    database = str(config.get("database") or "sqlite").lower()
    entities = core_entities(config)
    db = with_plugins(DB(_strategy(database, config), node_id=node_id, entities=entities),
                      config)
    db.dbless = database == "off"
    db.read_only = db.dbless and not writable
    if database == "postgres" and dbconf.postgres_replica(config) is not None:
        from kongpy.db.strategies.postgres import PostgresStrategy
        db.replica = with_plugins(DB(PostgresStrategy(config, read_only=True),
                                     entities=entities), config)
    return db


def core_entities(config: Mapping[str, Any]) -> list[type[EntitySchema]]:
    """The core entity schemas of a node: the routes schema depends on its
    ``router_flavor`` (Kong loads one of its two route schemas per node)."""
    out = list(schemas.CORE_ENTITIES.values())
    if config.get("router_flavor") == "expressions":
        from kongpy.schemas.routes import ExpressionsRouteSchema
        out = [ExpressionsRouteSchema if s.entity_name == "routes" else s for s in out]
    return out


def _strategy(database: str, config: Mapping[str, Any]) -> Strategy:
    if database == "sqlite":
        from kongpy.db.strategies.sqlite import SQLiteStrategy
        path = config.get("sqlite_path")
        if not path:
            raise ConfigError("sqlite_path is required when database = sqlite", prop="sqlite_path")
        return SQLiteStrategy(str(path))
    if database == "postgres":
        from kongpy.db.strategies.postgres import PostgresStrategy
        return PostgresStrategy(config)
    if database == "cassandra":
        from kongpy.db.strategies.cassandra import CassandraStrategy
        return CassandraStrategy(config)
    if database == "off":
        # A DB-less node keeps the configuration it serves in a private
        # SQLite file of its prefix (kongpy/dbless.py).
        from kongpy.db.strategies.sqlite import SQLiteStrategy
        from kongpy import dbless
        return SQLiteStrategy(dbless.store_path(config))
    raise ConfigError(f"unknown database: {database!r} "
                      "(expected sqlite, postgres or cassandra)", prop="database")


__all__ = ["DB", "DAO", "open"]
