"""Cassandra strategy on the DataStax driver.

Cassandra has neither transactions nor unique constraints nor auto-increment;
what this strategy builds from what it has lives beside it:

- ``transaction()`` is a write unit (cassandra_unit.py): the rows, tag index
  rows and cluster event of a change go in one logged batch; lightweight
  transactions (claims, placeholders, compare-and-set) run before it, claim
  releases and the version after it, and each window heals by itself.
- uniqueness: lookup tables claimed by lightweight transactions
  (cassandra_claims.py);
- the configuration version: a static column advanced together with its
  event rows, and orphaned changes published by any node (cassandra_events.py);
- the tag index (cassandra_tags.py).

Expiring (``ttl``) rows also get Cassandra's native TTL, their unique claims
too, so they disappear without a purge.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from functools import partial
from typing import Any, Mapping, Sequence

from kongpy import dbconf
from kongpy.db.strategies import cassandra_conn
from kongpy.db.strategies.base import BadCursor, CounterDef, Strategy, TableDef
from kongpy.db.strategies.cassandra_claims import CassandraClaims, lookup, text
from kongpy.db.strategies.cassandra_events import CassandraEvents
from kongpy.db.strategies.cassandra_tags import CassandraTags
from kongpy.db.strategies.cassandra_unit import CassandraUnits, Intent
from kongpy.db.strategies.base import ident as _ident
from kongpy.errors import ConfigError, DatabaseError

log = logging.getLogger(__name__)

_DELETE_AT_MOST = 500


class CassandraStrategy(CassandraUnits, CassandraClaims, CassandraTags, Strategy):
    name = "cassandra"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.settings = dbconf.cassandra(config)
        self.keyspace = self.settings.keyspace
        try:
            _ident(self.keyspace)
        except ValueError:
            raise ConfigError.invalid("cassandra_keyspace", f"'{self.keyspace}' is not a "
                                      "plain name (letters, digits, '_')") from None
        self.cql = cassandra_conn.CassandraConnection(self.settings)
        self.events = CassandraEvents(self.cql, self.t)
        self._local = threading.local()

    def describe(self) -> str:
        return self.settings.where()

    def t(self, name: str) -> str:
        return f'"{self.keyspace}".{_ident(name)}'

    def close(self) -> None:
        self.cql.close()

    def ping(self) -> bool:
        try:
            self.cql.run("SELECT release_version FROM system.local")
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            return False

    # -- schema --------------------------------------------------------------------------

    def create_table(self, table: TableDef) -> None:
        cols = [f"{_ident(table.primary_key)} text PRIMARY KEY"]
        cols += [f"{_ident(c)} text" for c in table.foreign.values()]
        cols += ["created_at bigint", "entity text"]
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t(table.name)} ({', '.join(cols)})")
        for col in table.foreign.values():
            self.cql.ddl(f"CREATE INDEX IF NOT EXISTS {_ident(f'{table.name}_{col}_idx')} "
                         f"ON {self.t(table.name)} ({_ident(col)})")
        for col in table.unique:
            self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t(lookup(table, col))} "
                         "(value text PRIMARY KEY, id text)")

    def create_core_tables(self) -> None:
        self.cql.ddl(f'CREATE KEYSPACE IF NOT EXISTS "{self.keyspace}" '
                     f"WITH replication = {self.settings.replication()}")
        self.create_tag_tables()
        self.events.create_tables()
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('schema_meta')} "
                     "(subsystem text PRIMARY KEY, executed text, pending text)")

    def upgrade_event_tables(self) -> None:
        """Core step 003: the version moves into the ``cluster_events`` partition."""
        self.events.upgrade(self._columns, self._tables)

    def drop_legacy_version(self) -> None:
        self.events.drop_legacy()

    def _tables(self) -> list[str]:
        rows = self.cql.run("SELECT table_name FROM system_schema.tables "
                            "WHERE keyspace_name = ?", (self.keyspace,))
        return [r["table_name"] for r in rows]

    def _columns(self, table: str) -> list[str]:
        rows = self.cql.run("SELECT column_name FROM system_schema.columns WHERE "
                            "keyspace_name = ? AND table_name = ?", (self.keyspace, table))
        return [r["column_name"] for r in rows]

    def drop_everything(self) -> None:
        # As Kong's reset does: one schema change instead of one per table;
        # bootstrap creates the keyspace again with the configured replication.
        self.cql.ddl(f'DROP KEYSPACE IF EXISTS "{self.keyspace}"')

    def truncate_everything(self) -> None:
        # TRUNCATE costs a flush (a fraction of a second) per table; deleting a
        # few rows by key is much quicker, so that is what small tables get.
        for name in self._tables():
            if name == "schema_meta":
                continue
            if name == "cluster_events":
                self.events.reset()
                continue
            keys = self._key_columns(name)
            select = ", ".join(_ident(k) for k in keys)
            rows = list(self.cql.run(f"SELECT {select} FROM {self.t(name)} "
                                     f"LIMIT {_DELETE_AT_MOST + 1}"))
            if len(rows) > _DELETE_AT_MOST:
                self.cql.ddl(f"TRUNCATE {self.t(name)}")
                continue
            where = " AND ".join(f"{_ident(k)} = ?" for k in keys)
            for row in rows:
                self.cql.run(f"DELETE FROM {self.t(name)} WHERE {where}",
                             [row[k] for k in keys])

    def _key_columns(self, table: str) -> list[str]:
        rows = self.cql.run("SELECT column_name, kind FROM system_schema.columns WHERE "
                            "keyspace_name = ? AND table_name = ?", (self.keyspace, table))
        return [r["column_name"] for r in rows
                if r["kind"] in ("partition_key", "clustering")]

    # -- rows ------------------------------------------------------------------------------

    def _values(self, table: TableDef, row: Mapping[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = {table.primary_key: row[table.primary_key]}
        for fname, col in table.foreign.items():
            ref = row.get(fname)
            cols[col] = ref.get("id") if isinstance(ref, Mapping) else None
        # The column holds whole seconds; the entity keeps Kong's precision.
        created = row.get("created_at")
        cols["created_at"] = int(created) if created is not None else None
        cols["entity"] = _entity_text(row)
        return cols

    def _queue_row(self, table: TableDef, row: Mapping[str, Any], ttl: int) -> None:
        cols = self._values(table, row)
        names = ", ".join(_ident(c) for c in cols)
        marks = ", ".join("?" for _ in cols)
        self._queue(f"INSERT INTO {self.t(table.name)} ({names}) VALUES ({marks}) USING TTL ?",
                    [*cols.values(), ttl])

    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        pk, ttl = row[table.primary_key], _ttl(table, row)
        with self.transaction():
            self._place(table, pk)
            self._claim_all(table, row, pk, ttl, {})
            self._queue_row(table, row, ttl)

    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        with self.transaction():
            current = self.select(table, pk) or {}
            old = {c: text(current.get(c)) for c in table.unique}
            ttl = _ttl(table, row)
            self._claim_all(table, row, pk, ttl, old)
            self._queue_row(table, row, ttl)
            self._release_after(table, pk, {c: v for c, v in old.items()
                                            if v is not None and v != text(row.get(c))})

    def _release_after(self, table: TableDef, pk: str, values: Mapping[str, str]) -> None:
        # After the batch: a row never stands without the claims of its values.
        unit = self._unit()
        for col, value in values.items():
            unit.after(partial(self._release, table, col, value, pk))

    def update_if(self, table: TableDef, pk: str, row: Mapping[str, Any],
                  expected: Mapping[str, Any]) -> bool:
        # A lightweight transaction on the stored text: it cannot join the
        # unit's batch, and its event only comes after it. A guard intent goes
        # first and is disarmed once that event is sent; a writer dying in
        # between leaves it armed, and the healer's version makes every node
        # reload. The Admin API's own writes use server-side timestamps, so one
        # that lands after this write orders after it (docs/datastores.md).
        with self.transaction():
            unit = self._unit()
            self._send(unit, everything=False)
            guard = Intent("guard", f"unconfirmed compare-and-set of {table.name} {pk}",
                           None, time.time())
            self.cql.run(*self.events.intent_statement(guard))
            unit.after(partial(self.events.disarm, guard))
            cols = self._values(table, row)
            cols.pop(table.primary_key)
            sets = ", ".join(f"{_ident(c)} = ?" for c in cols)
            rs = self.cql.run(f"UPDATE {self.t(table.name)} USING TTL ? SET {sets} "
                              f"WHERE {_ident(table.primary_key)} = ? IF entity = ?",
                              [_ttl(table, row), *cols.values(), pk, _entity_text(expected)])
            return bool(rs.was_applied)

    def delete(self, table: TableDef, pk: str) -> bool:
        with self.transaction():
            current = self.select(table, pk)
            if current is None:
                return False
            self._queue(f"DELETE FROM {self.t(table.name)} "
                        f"WHERE {_ident(table.primary_key)} = ?", (pk,))
            self._release_after(table, pk, {c: text(current.get(c)) for c in table.unique
                                            if current.get(c) is not None})
            return True

    def select(self, table: TableDef, pk: str) -> dict | None:
        self._settle()
        row = self.cql.run(f"SELECT entity FROM {self.t(table.name)} "
                           f"WHERE {_ident(table.primary_key)} = ?", (pk,)).one()
        # A row without entity is a placeholder: an insert under way.
        return json.loads(row["entity"]) if row and row["entity"] is not None else None

    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None:
        self._settle()
        if column == table.primary_key:
            return self.select(table, value)
        if column in table.unique:
            found = self.cql.run(f"SELECT id FROM {self.t(lookup(table, column))} "
                                 "WHERE value = ?", (text(value),)).one()
            return self.select(table, found["id"]) if found else None
        if column in table.foreign.values():
            row = self.cql.run(f"SELECT entity FROM {self.t(table.name)} "
                               f"WHERE {_ident(column)} = ? LIMIT 1", (value,)).one()
            return json.loads(row["entity"]) if row else None
        raise DatabaseError(f"[cassandra] {table.name}.{column} is not a lookup column")

    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Sequence[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
        self._settle()
        tag_list = list(dict.fromkeys(tags or []))
        if tag_list:
            return self.page_tagged(table, size, cursor, where, tag_list, tags_any)
        try:
            state = bytes.fromhex(cursor) if cursor is not None else None
        except ValueError:
            raise BadCursor(cursor) from None
        cql, params = f"SELECT entity FROM {self.t(table.name)}", []
        if where:
            cql += " WHERE " + " AND ".join(f"{_ident(c)} = ?" for c in where)
            cql += " ALLOW FILTERING" if len(where) > 1 else ""
            params = list(where.values())
        try:
            rs = self.cql.run(cql, params, fetch_size=size, paging_state=state)
        except DatabaseError:
            if state is None:
                raise
            raise BadCursor(cursor) from None
        rows = [json.loads(r["entity"]) for r in rs.current_rows if r["entity"] is not None]
        after = rs.paging_state
        # A full page comes with a paging state even when nothing follows;
        # look one row ahead so the last page has no offset, as with SQL.
        if after is not None and not self.cql.run(cql, params, fetch_size=1,
                                                  paging_state=after).current_rows:
            after = None
        return rows, (after.hex() if after is not None else None)

    def count_by(self, table: TableDef, column: str, value: Any) -> int:
        self._settle()
        row = self.cql.run(f"SELECT COUNT(*) AS n FROM {self.t(table.name)} "
                           f"WHERE {_ident(column)} = ?", (value,)).one()
        return int(row["n"])

    # -- cluster events -----------------------------------------------------------------------

    def append_event(self, channel: str, data: str, node_id: str | None,
                     at: float) -> int | None:
        nested = getattr(self._local, "unit", None) is not None
        with self.transaction():
            unit = self._unit()
            intent = Intent(channel, data, node_id, at)
            unit.close(intent, self.events.intent_statement(intent))
            if unit.should_send():
                self._send(unit, everything=False)
        return None if nested else unit.version

    def latest_event(self) -> int:
        return self.events.latest()

    def events_since(self, after: int, limit: int = 1000) -> list[dict]:
        return self.events.since(after, limit)

    # -- migration bookkeeping ------------------------------------------------------------------

    def meta_get(self, subsystem: str) -> dict | None:
        exists = self.cql.run("SELECT table_name FROM system_schema.tables WHERE "
                              "keyspace_name = ? AND table_name = ?",
                              (self.keyspace, "schema_meta")).one()
        if exists is None:
            return None
        row = self.cql.run(f"SELECT executed, pending FROM {self.t('schema_meta')} "
                           "WHERE subsystem = ?", (subsystem,)).one()
        if row is None:
            return None
        return {"executed": json.loads(row["executed"]), "pending": json.loads(row["pending"])}

    def meta_set(self, subsystem: str, executed: list[str], pending: list[str]) -> None:
        with self.transaction():
            self._queue(f"INSERT INTO {self.t('schema_meta')} (subsystem, executed, pending) "
                        "VALUES (?, ?, ?)",
                        (subsystem, json.dumps(executed), json.dumps(pending)))

    # -- counters --------------------------------------------------------------------------
    # A counter column: the add is atomic, but Cassandra cannot say which value
    # it produced, so the read that follows may include other writers' adds.
    # Counter tables take no TTL; rows of past windows stay (Kong's did too).
    # Counters never join a write unit (a logged batch cannot hold them).

    def create_counter_table(self, counter: CounterDef) -> None:
        cols = ", ".join(f"{_ident(k)} text" for k in counter.key)
        keys = ", ".join(_ident(k) for k in counter.key)
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t(counter.name)} "
                     f"({cols}, value counter, PRIMARY KEY (({keys})))")

    def increment(self, counter: CounterDef, key: Mapping[str, Any], amount: int,
                  expire_at: int | None = None) -> int:
        where = " AND ".join(f"{_ident(k)} = ?" for k in counter.key)
        params = [str(key[k]) for k in counter.key]
        self.cql.run(f"UPDATE {self.t(counter.name)} SET value = value + ? WHERE {where}",
                     [int(amount), *params])
        rows = list(self.cql.run(f"SELECT value FROM {self.t(counter.name)} WHERE {where}",
                                 params))
        return int(rows[0]["value"]) if rows else int(amount)


def _ttl(table: TableDef, row: Mapping[str, Any]) -> int:
    """Seconds left for an expiring row, plus one; 0 (no TTL) otherwise.

    Cassandra counts a TTL from the current second truncated, so a row could
    vanish up to a second before its ``expire_at``; the extra second keeps it
    readable until then (the DAO hides it from ``expire_at`` on).
    """
    expire_at = row.get("expire_at") if table.ttl else None
    if expire_at is None:
        return 0
    return max(1, math.ceil(expire_at - time.time())) + 1


def _entity_text(row: Mapping[str, Any]) -> str:
    """The stored text of an entity row (what ``IF entity = ?`` compares)."""
    return json.dumps(row, separators=(",", ":"))
