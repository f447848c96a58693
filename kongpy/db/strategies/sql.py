"""What the SQLite and PostgreSQL strategies share.

Both store each entity as JSON next to its key, unique and foreign-key
columns, and speak nearly the same SQL. The dialects differ in their
placeholder (``?`` or ``%s``), column types, how a transaction begins and
ends, how connections are held (one per process and thread here, which SQLite
keeps; PostgreSQL pools them) and a few statements; subclasses supply those
through the class attributes and hooks below.
"""
from __future__ import annotations

import abc
import json
import os
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from kongpy.db.strategies import counters
from kongpy.db.strategies.base import CounterDef, Strategy, TableDef
from kongpy.db.strategies.base import ident as _ident
from kongpy.errors import DatabaseError, DatastoreUnavailable

_EVENT_KEYS = ("id", "channel", "data", "node_id", "at")
_TAG_KEYS = ("tag", "entity_name", "entity_id")


class SQLStrategy(Strategy):
    """Rows, tags, events, migration state and counters in a SQL database."""

    # Placeholder of the driver's paramstyle.
    MARK = "?"
    # Column types: keys and unique values, integers, floats, the event id.
    TEXT = "TEXT"
    INTEGER = "INTEGER"
    FLOAT = "REAL"
    SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"
    BEGIN = "BEGIN"
    DROP_SUFFIX = ""
    # The stored entity's expiry (epoch seconds) as a number, in SQL.
    EXPIRE_AT = "json_extract(entity, '$.expire_at')"

    def __init__(self) -> None:
        self._local = threading.local()

    # -- dialect hooks -------------------------------------------------------------------

    @abc.abstractmethod
    def _connect(self) -> Any: ...

    @abc.abstractmethod
    def _exec(self, sql: str, params: Iterable[Any] = (), savepoint: bool = False) -> Any:
        """Runs one statement; raises Conflict, DatabaseError or DatastoreUnavailable."""

    @abc.abstractmethod
    def _commit(self, conn: Any) -> None: ...

    @abc.abstractmethod
    def _rollback(self, conn: Any) -> None: ...

    @abc.abstractmethod
    def _tables(self) -> list[str]: ...

    @abc.abstractmethod
    def _has_table(self, name: str) -> bool: ...

    def _key_value(self, value: Any) -> Any:
        """How a unique or looked-up value is stored and compared."""
        return value

    def _tag_match(self, tags: list[str]) -> tuple[str, list[Any]]:
        """The condition on ``tag`` matching any of ``tags``, and its parameters."""
        return f"tag IN ({self._marks(len(tags))})", list(tags)

    def _marks(self, count: int) -> str:
        return ", ".join([self.MARK] * count)

    # -- connections -------------------------------------------------------------------

    def _conn(self) -> Any:
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or local.conn is None:
            local.pid = os.getpid()
            local.conn = None
            local.depth = 0
            local.conn = self._connect()
        return local.conn

    @contextmanager
    def _hold(self) -> Iterator[Any]:
        """The connection a transaction runs on, from BEGIN to its end."""
        yield self._conn()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        local = self._local
        if getattr(local, "depth", 0):
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        with self._hold() as conn:
            self._exec(self.BEGIN)
            local.depth = 1
            try:
                yield
            except BaseException:
                local.depth = 0
                self._rollback(conn)
                raise
            local.depth = 0
            self._commit(conn)

    def ping(self) -> bool:
        try:
            self._exec("SELECT 1").fetchone()
            return True
        except (DatabaseError, DatastoreUnavailable):
            return False

    # -- schema --------------------------------------------------------------------------

    def create_table(self, table: TableDef) -> None:
        cols = [f"{_ident(table.primary_key)} {self.TEXT} PRIMARY KEY"]
        cols += [f"{_ident(c)} {self.TEXT} UNIQUE" for c in table.unique]
        cols += [f"{_ident(c)} {self.TEXT}" for c in table.foreign.values()]
        cols += [f'"created_at" {self.INTEGER}', '"entity" TEXT NOT NULL']
        self._exec(f"CREATE TABLE IF NOT EXISTS {_ident(table.name)} ({', '.join(cols)})")
        for col in table.foreign.values():
            index = _ident(f"{table.name}_{col}_idx")
            self._exec(f"CREATE INDEX IF NOT EXISTS {index} "
                       f"ON {_ident(table.name)} ({_ident(col)})")

    def create_core_tables(self) -> None:
        text = self.TEXT
        self._exec(f'CREATE TABLE IF NOT EXISTS "tags" ("tag" {text} NOT NULL, '
                   f'"entity_name" {text} NOT NULL, "entity_id" {text} NOT NULL, '
                   'PRIMARY KEY ("tag", "entity_name", "entity_id"))')
        self._exec('CREATE INDEX IF NOT EXISTS "tags_entity_idx" ON "tags" '
                   '("entity_name", "entity_id")')
        self._exec('CREATE TABLE IF NOT EXISTS "cluster_events" ('
                   f'"id" {self.SERIAL}, "channel" TEXT NOT NULL, '
                   f'"data" TEXT, "node_id" TEXT, "at" {self.FLOAT} NOT NULL)')
        self._exec('CREATE TABLE IF NOT EXISTS "schema_meta" ("subsystem" TEXT PRIMARY KEY, '
                   '"executed" TEXT NOT NULL, "pending" TEXT NOT NULL)')

    def drop_everything(self) -> None:
        for name in self._tables():
            self._exec(f"DROP TABLE IF EXISTS {_ident(name)}{self.DROP_SUFFIX}")

    # -- rows ------------------------------------------------------------------------------

    def _columns(self, table: TableDef, row: Mapping[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = {table.primary_key: row[table.primary_key]}
        for col in table.unique:
            cols[col] = self._key_value(row.get(col))
        for fname, col in table.foreign.items():
            ref = row.get(fname)
            cols[col] = ref.get("id") if isinstance(ref, Mapping) else None
        # The column holds whole seconds; the entity keeps Kong's precision.
        created = row.get("created_at")
        cols["created_at"] = int(created) if created is not None else None
        cols["entity"] = _dumps(row)
        return cols

    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        names = ", ".join(_ident(c) for c in cols)
        self._exec(f"INSERT INTO {_ident(table.name)} ({names}) "
                   f"VALUES ({self._marks(len(cols))})", cols.values(), savepoint=True)

    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        sets = ", ".join(f"{_ident(c)} = {self.MARK}" for c in cols)
        self._exec(f"UPDATE {_ident(table.name)} SET {sets} "
                   f"WHERE {_ident(table.primary_key)} = {self.MARK}",
                   list(cols.values()) + [pk], savepoint=True)

    def update_if(self, table: TableDef, pk: str, row: Mapping[str, Any],
                  expected: Mapping[str, Any]) -> bool:
        # ``expected`` came from json.loads of the stored text; dumping it the
        # same way gives that text back. Under PostgreSQL's READ COMMITTED a
        # concurrent commit makes the WHERE see the new row: no lost update.
        # No savepoint: unique values do not change, and its RELEASE would
        # replace the row count we need.
        cols = self._columns(table, row)
        sets = ", ".join(f"{_ident(c)} = {self.MARK}" for c in cols)
        cur = self._exec(f"UPDATE {_ident(table.name)} SET {sets} "
                         f"WHERE {_ident(table.primary_key)} = {self.MARK} "
                         f"AND entity = {self.MARK}",
                         list(cols.values()) + [pk, _dumps(expected)])
        return cur.rowcount == 1

    def delete(self, table: TableDef, pk: str) -> bool:
        cur = self._exec(f"DELETE FROM {_ident(table.name)} WHERE "
                         f"{_ident(table.primary_key)} = {self.MARK}", (pk,))
        return cur.rowcount > 0

    def expired_ids(self, table: TableDef, now: float, limit: int) -> list[str]:
        if not table.ttl:
            return []
        pk = _ident(table.primary_key)
        cur = self._exec(f"SELECT {pk} FROM {_ident(table.name)} WHERE {self.EXPIRE_AT} "
                         f"<= {self.MARK} LIMIT {int(limit)}", (now,))
        return [row[0] for row in cur.fetchall()]

    def select(self, table: TableDef, pk: str) -> dict | None:
        return self.select_by(table, table.primary_key, pk)

    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None:
        row = self._exec(f"SELECT entity FROM {_ident(table.name)} "
                         f"WHERE {_ident(column)} = {self.MARK} LIMIT 1",
                         (self._key_value(value),)).fetchone()
        return json.loads(row[0]) if row else None

    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Iterable[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
        pk = _ident(table.primary_key)
        clauses, params = [], []
        if cursor is not None:
            clauses.append(f"{pk} > {self.MARK}")
            params.append(cursor)
        for col, value in where.items():
            clauses.append(f"{_ident(col)} = {self.MARK}")
            params.append(value)
        tag_list = list(dict.fromkeys(tags or []))
        if tag_list:
            having = "" if tags_any else f" HAVING COUNT(DISTINCT tag) = {len(tag_list)}"
            match, match_params = self._tag_match(tag_list)
            clauses.append(f"{pk} IN (SELECT entity_id FROM tags WHERE entity_name = "
                           f"{self.MARK} AND {match} GROUP BY entity_id{having})")
            params += [table.name] + match_params
        sql = f"SELECT entity FROM {_ident(table.name)}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {pk} LIMIT {self.MARK}"
        rows = [json.loads(r[0]) for r in self._exec(sql, params + [size + 1]).fetchall()]
        if len(rows) <= size:
            return rows, None
        rows = rows[:size]
        return rows, rows[-1][table.primary_key]

    def count_by(self, table: TableDef, column: str, value: Any) -> int:
        row = self._exec(f"SELECT COUNT(*) FROM {_ident(table.name)} "
                         f"WHERE {_ident(column)} = {self.MARK}", (value,)).fetchone()
        return int(row[0])

    # -- tags ------------------------------------------------------------------------------

    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None:
        mark = self.MARK
        self._exec(f'DELETE FROM "tags" WHERE entity_name = {mark} AND entity_id = {mark}',
                   (entity_name, entity_id))
        for tag in dict.fromkeys(tags):
            self._exec('INSERT INTO "tags" (tag, entity_name, entity_id) '
                       f'VALUES ({self._marks(3)})', (tag, entity_name, entity_id))

    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        clauses, params = [], []
        if after is not None:
            clauses.append(f"(tag, entity_name, entity_id) > ({self._marks(3)})")
            params += list(after)
        if tag is not None:
            clauses.append(f"tag = {self.MARK}")
            params.append(tag)
        sql = 'SELECT tag, entity_name, entity_id FROM "tags"'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY tag, entity_name, entity_id LIMIT {self.MARK}"
        return [dict(zip(_TAG_KEYS, r)) for r in self._exec(sql, params + [size]).fetchall()]

    # -- cluster events -----------------------------------------------------------------------

    def latest_event(self) -> int:
        row = self._exec('SELECT MAX(id) FROM "cluster_events"').fetchone()
        return int(row[0] or 0)

    def events_since(self, after: int, limit: int = 1000) -> list[dict]:
        rows = self._exec('SELECT id, channel, data, node_id, at FROM "cluster_events" '
                          f'WHERE id > {self.MARK} ORDER BY id LIMIT {self.MARK}',
                          (after, limit)).fetchall()
        return [dict(zip(_EVENT_KEYS, r)) for r in rows]

    # -- migration bookkeeping ------------------------------------------------------------------

    def meta_get(self, subsystem: str) -> dict | None:
        if not self._has_table("schema_meta"):
            return None
        row = self._exec('SELECT executed, pending FROM "schema_meta" '
                         f'WHERE subsystem = {self.MARK}', (subsystem,)).fetchone()
        if not row:
            return None
        return {"executed": json.loads(row[0]), "pending": json.loads(row[1])}

    def meta_set(self, subsystem: str, executed: list[str], pending: list[str]) -> None:
        self._exec('INSERT INTO "schema_meta" (subsystem, executed, pending) '
                   f'VALUES ({self._marks(3)}) ON CONFLICT (subsystem) DO UPDATE '
                   'SET executed = excluded.executed, pending = excluded.pending',
                   (subsystem, json.dumps(executed), json.dumps(pending)))

    # -- counters --------------------------------------------------------------------------

    def create_counter_table(self, counter: CounterDef) -> None:
        self._exec(counters.create_sql(counter, self.TEXT, self.INTEGER))

    def increment(self, counter: CounterDef, key: Mapping[str, Any], amount: int,
                  expire_at: int | None = None) -> int:
        purge = counters.purge_sql(counter, self.MARK)
        if purge:
            self._exec(*purge)
        sql, params = counters.upsert_sql(counter, key, amount, expire_at, self.MARK)
        return int(self._exec(sql, params).fetchone()[0])


def _dumps(row: Mapping[str, Any]) -> str:
    """The stored text of an entity row."""
    return json.dumps(row, separators=(",", ":"))
