"""Cassandra strategy on the DataStax driver.

Cassandra has neither transactions nor unique constraints nor auto-increment,
so three things are built here from what it has:

- Uniqueness: every unique column of a table gets a lookup table
  ``<table>_by_<column> (value PRIMARY KEY, id)``. A write claims each value
  with a lightweight transaction (``IF NOT EXISTS``) before the row is written,
  and an insert writes the row ``IF NOT EXISTS`` (primary key). A plain
  read-then-write would let two Admin API calls on two nodes both see "free"
  and both store the same name.
- The configuration version: one counter row advanced by compare-and-set
  (:meth:`append_event`), so every node compares the same monotonic integer.
- ``transaction()`` is a no-op; cascades run child by child (the DAO's rule).

Expiring (``ttl``) rows also get Cassandra's native TTL, their unique claims
too, so they disappear without a purge.
"""
from __future__ import annotations

import json
import logging
import math
import time
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from kongpy.db.strategies import cassandra_conn
from kongpy.db.strategies.base import BadCursor, Conflict, CounterDef, Strategy, TableDef
from kongpy.db.strategies.cassandra_tags import CassandraTags
from kongpy.db.strategies.postgres import _ident
from kongpy.errors import DatabaseError

log = logging.getLogger(__name__)

EVENT_TTL_S = 86400
_VERSION_ROW = "events"
_CAS_ATTEMPTS = 100
_DELETE_AT_MOST = 500
# A unique claim whose row is still missing after this long was left by a
# writer that died; anything younger may be a write in progress.
STALE_CLAIM_S = 60


def _text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value)


class CassandraStrategy(CassandraTags, Strategy):
    name = "cassandra"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.settings = cassandra_conn.CassandraSettings(config)
        self.keyspace = self.settings.keyspace
        _ident(self.keyspace)
        self.cql = cassandra_conn.CassandraConnection(self.settings)

    def describe(self) -> str:
        return self.settings.where()

    def t(self, name: str) -> str:
        return f'"{self.keyspace}".{_ident(name)}'

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # No transactions in Cassandra: each statement stands alone.
        yield

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
            self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t(_lookup(table, col))} "
                         "(value text PRIMARY KEY, id text)")

    def create_core_tables(self) -> None:
        self.cql.ddl(f'CREATE KEYSPACE IF NOT EXISTS "{self.keyspace}" '
                     f"WITH replication = {self.settings.replication()}")
        self.create_tag_tables()
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('cluster_events')} ("
                     "bucket int, id bigint, channel text, data text, node_id text, at double, "
                     f"PRIMARY KEY (bucket, id)) WITH default_time_to_live = {EVENT_TTL_S}")
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('cluster_version')} "
                     "(name text PRIMARY KEY, version bigint)")
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('schema_meta')} "
                     "(subsystem text PRIMARY KEY, executed text, pending text)")

    def _tables(self) -> list[str]:
        rows = self.cql.run("SELECT table_name FROM system_schema.tables "
                            "WHERE keyspace_name = ?", (self.keyspace,))
        return [r["table_name"] for r in rows]

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

    # -- unique claims -----------------------------------------------------------------------

    def _claim(self, table: TableDef, col: str, value: str, pk: str, ttl: int) -> bool:
        """Claims ``value`` for ``pk``: True when newly claimed, False when already ours."""
        lookup = self.t(_lookup(table, col))
        rs = self.cql.run(f"INSERT INTO {lookup} (value, id) VALUES (?, ?) IF NOT EXISTS "
                          "USING TTL ?", (value, pk, ttl))
        if rs.was_applied:
            return True
        holder = rs.one()["id"]
        if holder == pk:
            if ttl:
                self.cql.run(f"UPDATE {lookup} USING TTL ? SET id = ? WHERE value = ? IF id = ?",
                             (ttl, pk, value, pk))
            return False
        # A claim without its row (its writer died in between) would block the
        # value for good: take it over, by compare-and-set. Only an old claim:
        # a young one may belong to a writer about to write its row.
        if self._stale(lookup, value, holder) and self.select(table, holder) is None:
            rs = self.cql.run(f"UPDATE {lookup} USING TTL ? SET id = ? WHERE value = ? "
                              "IF id = ?", (ttl, pk, value, holder))
            if rs.was_applied:
                return True
        raise Conflict(col)

    def _stale(self, lookup: str, value: str, holder: str) -> bool:
        row = self.cql.run(f"SELECT id, WRITETIME(id) AS written FROM {lookup} "
                           "WHERE value = ?", (value,)).one()
        if row is None or row["id"] != holder or row["written"] is None:
            return False
        return time.time() - row["written"] / 1e6 > STALE_CLAIM_S

    def _release(self, table: TableDef, col: str, value: str, pk: str) -> None:
        self.cql.run(f"DELETE FROM {self.t(_lookup(table, col))} WHERE value = ? IF id = ?",
                     (value, pk))

    def _verify(self, table: TableDef, claims: list[tuple[str, str]], pk: str) -> None:
        for col, value in claims:
            rs = self.cql.run(f"SELECT id FROM {self.t(_lookup(table, col))} WHERE value = ?",
                              (value,))
            row = rs.one()
            if row is None or row["id"] != pk:
                raise Conflict(col)

    def _claim_all(self, table: TableDef, row: Mapping[str, Any], pk: str, ttl: int,
                   skip: Mapping[str, Any]) -> list[tuple[str, str]]:
        claimed: list[tuple[str, str]] = []
        try:
            for col in table.unique:
                value = _text(row.get(col))
                if value is None or (skip.get(col) == value and not ttl):
                    continue
                if self._claim(table, col, value, pk, ttl):
                    claimed.append((col, value))
        except Conflict:
            self._release_all(table, claimed, pk)
            raise
        return claimed

    def _release_all(self, table: TableDef, claims: Iterable[tuple[str, str]], pk: str) -> None:
        for col, value in claims:
            self._release(table, col, value, pk)

    # -- rows ------------------------------------------------------------------------------

    def _values(self, table: TableDef, row: Mapping[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = {table.primary_key: row[table.primary_key]}
        for fname, col in table.foreign.items():
            ref = row.get(fname)
            cols[col] = ref.get("id") if isinstance(ref, Mapping) else None
        cols["created_at"] = row.get("created_at")
        cols["entity"] = _entity_text(row)
        return cols

    def _write_row(self, table: TableDef, row: Mapping[str, Any], ttl: int,
                   if_not_exists: bool) -> bool:
        cols = self._values(table, row)
        names = ", ".join(_ident(c) for c in cols)
        marks = ", ".join("?" for _ in cols)
        cond = " IF NOT EXISTS" if if_not_exists else ""
        rs = self.cql.run(f"INSERT INTO {self.t(table.name)} ({names}) VALUES ({marks}){cond} "
                          "USING TTL ?", list(cols.values()) + [ttl])
        return rs.was_applied if if_not_exists else True

    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        pk, ttl = row[table.primary_key], _ttl(table, row)
        claimed = self._claim_all(table, row, pk, ttl, {})
        if not self._write_row(table, row, ttl, if_not_exists=True):
            self._release_all(table, claimed, pk)
            raise Conflict(table.primary_key)
        try:
            self._verify(table, claimed, pk)
        except Conflict:
            self._delete_row(table, pk)
            raise

    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        current = self.select(table, pk) or {}
        old = {c: _text(current.get(c)) for c in table.unique}
        ttl = _ttl(table, row)
        claimed = self._claim_all(table, row, pk, ttl, old)
        self._write_row(table, row, ttl, if_not_exists=False)
        self._verify(table, claimed, pk)
        for col, value in old.items():
            if value is not None and value != _text(row.get(col)):
                self._release(table, col, value, pk)

    def update_if(self, table: TableDef, pk: str, row: Mapping[str, Any],
                  expected: Mapping[str, Any]) -> bool:
        # A lightweight transaction on the stored text. The Admin API's own
        # writes are plain ones with server-side timestamps, so one that lands
        # after this write orders after it (docs/datastores.md).
        cols = self._values(table, row)
        cols.pop(table.primary_key)
        sets = ", ".join(f"{_ident(c)} = ?" for c in cols)
        rs = self.cql.run(f"UPDATE {self.t(table.name)} USING TTL ? SET {sets} "
                          f"WHERE {_ident(table.primary_key)} = ? IF entity = ?",
                          [_ttl(table, row), *cols.values(), pk, _entity_text(expected)])
        return bool(rs.was_applied)

    def _delete_row(self, table: TableDef, pk: str) -> None:
        self.cql.run(f"DELETE FROM {self.t(table.name)} WHERE {_ident(table.primary_key)} = ?",
                     (pk,))

    def delete(self, table: TableDef, pk: str) -> bool:
        current = self.select(table, pk)
        if current is None:
            return False
        self._delete_row(table, pk)
        for col in table.unique:
            value = _text(current.get(col))
            if value is not None:
                self._release(table, col, value, pk)
        return True

    def select(self, table: TableDef, pk: str) -> dict | None:
        row = self.cql.run(f"SELECT entity FROM {self.t(table.name)} "
                           f"WHERE {_ident(table.primary_key)} = ?", (pk,)).one()
        return json.loads(row["entity"]) if row else None

    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None:
        if column == table.primary_key:
            return self.select(table, value)
        if column in table.unique:
            found = self.cql.run(f"SELECT id FROM {self.t(_lookup(table, column))} "
                                 "WHERE value = ?", (_text(value),)).one()
            return self.select(table, found["id"]) if found else None
        if column in table.foreign.values():
            row = self.cql.run(f"SELECT entity FROM {self.t(table.name)} "
                               f"WHERE {_ident(column)} = ? LIMIT 1", (value,)).one()
            return json.loads(row["entity"]) if row else None
        raise DatabaseError(f"[cassandra] {table.name}.{column} is not a lookup column")

    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Iterable[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
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
        rows = [json.loads(r["entity"]) for r in rs.current_rows]
        after = rs.paging_state
        # A full page comes with a paging state even when nothing follows;
        # look one row ahead so the last page has no offset, as with SQL.
        if after is not None and not self.cql.run(cql, params, fetch_size=1,
                                                  paging_state=after).current_rows:
            after = None
        return rows, (after.hex() if after is not None else None)

    def count_by(self, table: TableDef, column: str, value: Any) -> int:
        row = self.cql.run(f"SELECT COUNT(*) AS n FROM {self.t(table.name)} "
                           f"WHERE {_ident(column)} = ?", (value,)).one()
        return int(row["n"])

    # -- cluster events -----------------------------------------------------------------------

    def append_event(self, channel: str, data: str, node_id: str | None, at: float) -> int:
        version = self._next_version()
        self.cql.run(f"INSERT INTO {self.t('cluster_events')} (bucket, id, channel, data, "
                     "node_id, at) VALUES (0, ?, ?, ?, ?, ?)",
                     (version, channel, data, node_id, at))
        return version

    def _next_version(self) -> int:
        """Advances the version row by compare-and-set and returns the new value.

        Why a CAS counter: a timeuuid-ordered events table gives no integer the
        data plane and the snapshot can carry, and Cassandra counters cannot
        say which increment was ours. A failed CAS returns the current value,
        so a retry needs no extra read.
        """
        table = self.t("cluster_version")
        current = self.latest_event() or None
        for _ in range(_CAS_ATTEMPTS):
            if current is None:
                rs = self.cql.run(f"INSERT INTO {table} (name, version) VALUES (?, ?) "
                                  "IF NOT EXISTS", (_VERSION_ROW, 1))
                wanted = 1
            else:
                wanted = current + 1
                rs = self.cql.run(f"UPDATE {table} SET version = ? WHERE name = ? "
                                  "IF version = ?", (wanted, _VERSION_ROW, current))
            if rs.was_applied:
                return wanted
            current = rs.one().get("version")
        raise DatabaseError("[cassandra] too much contention on the configuration version")

    def latest_event(self) -> int:
        row = self.cql.run(f"SELECT version FROM {self.t('cluster_version')} WHERE name = ?",
                           (_VERSION_ROW,)).one()
        return int(row["version"]) if row and row["version"] is not None else 0

    def events_since(self, after: int, limit: int = 1000) -> list[dict]:
        rows = self.cql.run(f"SELECT id, channel, data, node_id, at FROM "
                            f"{self.t('cluster_events')} WHERE bucket = 0 AND id > ? LIMIT ?",
                            (after, limit))
        return [dict(r) for r in rows]

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
        self.cql.run(f"INSERT INTO {self.t('schema_meta')} (subsystem, executed, pending) "
                     "VALUES (?, ?, ?)", (subsystem, json.dumps(executed), json.dumps(pending)))

    # -- counters --------------------------------------------------------------------------
    # A counter column: the add is atomic, but Cassandra cannot say which value
    # it produced, so the read that follows may include other writers' adds.
    # Counter tables take no TTL; rows of past windows stay (Kong's did too).

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


def _lookup(table: TableDef, column: str) -> str:
    return f"{table.name}_by_{column}"


def _ttl(table: TableDef, row: Mapping[str, Any]) -> int:
    """Seconds left for an expiring row; 0 (no TTL) otherwise."""
    expire_at = row.get("expire_at") if table.ttl else None
    if expire_at is None:
        return 0
    return max(1, math.ceil(expire_at - time.time()))


def _entity_text(row: Mapping[str, Any]) -> str:
    """The stored text of an entity row (what ``IF entity = ?`` compares)."""
    return json.dumps(row, separators=(",", ":"))
