"""SQLite strategy on Python's sqlite3.

One connection per (process, thread): the Admin API runs under gunicorn with
several worker processes, and a connection must never cross a fork. WAL mode
lets readers run beside the single writer; writes take the lock up front
(``BEGIN IMMEDIATE``) so two writers queue on the busy timeout instead of
failing with a lock-upgrade deadlock.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from kongpy.db.strategies import counters
from kongpy.db.strategies.base import Conflict, CounterDef, Strategy, TableDef
from kongpy.errors import DatabaseError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: \w+\.(\w+)")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid identifier: {name!r}")
    return f'"{name}"'


class SQLiteStrategy(Strategy):
    name = "sqlite"

    def __init__(self, path: str) -> None:
        if not os.path.isabs(path):
            raise ValueError(f"sqlite_path must be absolute: {path}")
        self.path = path
        self._local = threading.local()

    # -- connections -------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or local.conn is None:
            local.pid = os.getpid()
            local.conn = self._connect()
            local.depth = 0
        return local.conn

    def _connect(self) -> sqlite3.Connection:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                   isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = OFF")
        except sqlite3.Error as exc:
            raise DatabaseError(f"[sqlite] {exc}") from exc
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn().execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            match = _UNIQUE_FAILED.search(str(exc))
            if match:
                raise Conflict(match.group(1)) from exc
            raise DatabaseError(f"[sqlite] {exc}") from exc
        except sqlite3.Error as exc:
            raise DatabaseError(f"[sqlite] {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        conn = self._conn()
        local = self._local
        if local.depth:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        self._exec("BEGIN IMMEDIATE")
        local.depth = 1
        try:
            yield
        except BaseException:
            local.depth = 0
            conn.rollback()
            raise
        local.depth = 0
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise DatabaseError(f"[sqlite] {exc}") from exc

    def ping(self) -> bool:
        try:
            self._exec("SELECT 1").fetchone()
            return True
        except DatabaseError:
            return False

    # -- schema --------------------------------------------------------------------------

    def create_table(self, table: TableDef) -> None:
        cols = [f"{_ident(table.primary_key)} TEXT PRIMARY KEY"]
        cols += [f"{_ident(c)} TEXT UNIQUE" for c in table.unique]
        cols += [f"{_ident(c)} TEXT" for c in table.foreign.values()]
        cols += ['"created_at" INTEGER', '"entity" TEXT NOT NULL']
        self._exec(f"CREATE TABLE IF NOT EXISTS {_ident(table.name)} ({', '.join(cols)})")
        for col in table.foreign.values():
            index = _ident(f"{table.name}_{col}_idx")
            self._exec(f"CREATE INDEX IF NOT EXISTS {index} "
                       f"ON {_ident(table.name)} ({_ident(col)})")

    def create_core_tables(self) -> None:
        self._exec('CREATE TABLE IF NOT EXISTS "tags" ("tag" TEXT NOT NULL, '
                   '"entity_name" TEXT NOT NULL, "entity_id" TEXT NOT NULL, '
                   'PRIMARY KEY ("tag", "entity_name", "entity_id"))')
        self._exec('CREATE INDEX IF NOT EXISTS "tags_entity_idx" ON "tags" '
                   '("entity_name", "entity_id")')
        self._exec('CREATE TABLE IF NOT EXISTS "cluster_events" ('
                   '"id" INTEGER PRIMARY KEY AUTOINCREMENT, "channel" TEXT NOT NULL, '
                   '"data" TEXT, "node_id" TEXT, "at" REAL NOT NULL)')
        self._exec('CREATE TABLE IF NOT EXISTS "schema_meta" ("subsystem" TEXT PRIMARY KEY, '
                   '"executed" TEXT NOT NULL, "pending" TEXT NOT NULL)')

    def _tables(self) -> list[str]:
        rows = self._exec("SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite_%'").fetchall()
        return [row["name"] for row in rows]

    def drop_everything(self) -> None:
        for name in self._tables():
            self._exec(f"DROP TABLE IF EXISTS {_ident(name)}")

    def truncate_everything(self) -> None:
        with self.transaction():
            for name in self._tables():
                if name != "schema_meta":
                    self._exec(f"DELETE FROM {_ident(name)}")
            # AUTOINCREMENT remembers the highest id here; the version restarts at 0.
            self._exec("DELETE FROM sqlite_sequence")

    # -- rows ------------------------------------------------------------------------------

    def _columns(self, table: TableDef, row: Mapping[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = {table.primary_key: row[table.primary_key]}
        for col in table.unique:
            cols[col] = row.get(col)
        for fname, col in table.foreign.items():
            ref = row.get(fname)
            cols[col] = ref.get("id") if isinstance(ref, Mapping) else None
        cols["created_at"] = row.get("created_at")
        cols["entity"] = json.dumps(row, separators=(",", ":"))
        return cols

    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        names = ", ".join(_ident(c) for c in cols)
        marks = ", ".join("?" for _ in cols)
        self._exec(f"INSERT INTO {_ident(table.name)} ({names}) VALUES ({marks})", cols.values())

    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        sets = ", ".join(f"{_ident(c)} = ?" for c in cols)
        self._exec(f"UPDATE {_ident(table.name)} SET {sets} WHERE {_ident(table.primary_key)} = ?",
                   list(cols.values()) + [pk])

    def delete(self, table: TableDef, pk: str) -> bool:
        cur = self._exec(f"DELETE FROM {_ident(table.name)} WHERE "
                         f"{_ident(table.primary_key)} = ?", (pk,))
        return cur.rowcount > 0

    def select(self, table: TableDef, pk: str) -> dict | None:
        return self.select_by(table, table.primary_key, pk)

    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None:
        row = self._exec(f"SELECT entity FROM {_ident(table.name)} WHERE {_ident(column)} = ?",
                         (value,)).fetchone()
        return json.loads(row["entity"]) if row else None

    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Iterable[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
        pk = _ident(table.primary_key)
        clauses, params = [], []
        if cursor is not None:
            clauses.append(f"{pk} > ?")
            params.append(cursor)
        for col, value in where.items():
            clauses.append(f"{_ident(col)} = ?")
            params.append(value)
        tag_list = list(tags or [])
        if tag_list:
            marks = ", ".join("?" for _ in tag_list)
            having = "" if tags_any else f" HAVING COUNT(DISTINCT tag) = {len(set(tag_list))}"
            clauses.append(f"{pk} IN (SELECT entity_id FROM tags WHERE entity_name = ? "
                           f"AND tag IN ({marks}) GROUP BY entity_id{having})")
            params += [table.name] + tag_list
        sql = f"SELECT entity FROM {_ident(table.name)}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {pk} LIMIT ?"
        rows = [json.loads(r["entity"]) for r in self._exec(sql, params + [size + 1]).fetchall()]
        if len(rows) <= size:
            return rows, None
        rows = rows[:size]
        return rows, rows[-1][table.primary_key]

    def count_by(self, table: TableDef, column: str, value: Any) -> int:
        row = self._exec(f"SELECT COUNT(*) AS n FROM {_ident(table.name)} "
                         f"WHERE {_ident(column)} = ?", (value,)).fetchone()
        return int(row["n"])

    # -- tags ------------------------------------------------------------------------------

    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None:
        self._exec('DELETE FROM "tags" WHERE entity_name = ? AND entity_id = ?',
                   (entity_name, entity_id))
        for tag in dict.fromkeys(tags):
            self._exec('INSERT INTO "tags" (tag, entity_name, entity_id) VALUES (?, ?, ?)',
                       (tag, entity_name, entity_id))

    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        clauses, params = [], []
        if after is not None:
            clauses.append("(tag, entity_name, entity_id) > (?, ?, ?)")
            params += list(after)
        if tag is not None:
            clauses.append("tag = ?")
            params.append(tag)
        sql = 'SELECT tag, entity_name, entity_id FROM "tags"'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY tag, entity_name, entity_id LIMIT ?"
        return [dict(r) for r in self._exec(sql, params + [size]).fetchall()]

    # -- cluster events -----------------------------------------------------------------------

    def append_event(self, channel: str, data: str, node_id: str | None, at: float) -> int:
        cur = self._exec('INSERT INTO "cluster_events" (channel, data, node_id, at) '
                         'VALUES (?, ?, ?, ?)', (channel, data, node_id, at))
        return int(cur.lastrowid)

    def latest_event(self) -> int:
        row = self._exec('SELECT MAX(id) AS v FROM "cluster_events"').fetchone()
        return int(row["v"] or 0)

    def events_since(self, after: int, limit: int = 1000) -> list[dict]:
        rows = self._exec('SELECT id, channel, data, node_id, at FROM "cluster_events" '
                          'WHERE id > ? ORDER BY id LIMIT ?', (after, limit)).fetchall()
        return [dict(r) for r in rows]

    # -- migration bookkeeping ------------------------------------------------------------------

    def meta_get(self, subsystem: str) -> dict | None:
        exists = self._exec("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                            "AND name = 'schema_meta'").fetchone()
        if not exists:
            return None
        row = self._exec('SELECT executed, pending FROM "schema_meta" WHERE subsystem = ?',
                         (subsystem,)).fetchone()
        if not row:
            return None
        return {"executed": json.loads(row["executed"]), "pending": json.loads(row["pending"])}

    def meta_set(self, subsystem: str, executed: list[str], pending: list[str]) -> None:
        self._exec('INSERT OR REPLACE INTO "schema_meta" (subsystem, executed, pending) '
                   'VALUES (?, ?, ?)', (subsystem, json.dumps(executed), json.dumps(pending)))

    # -- counters --------------------------------------------------------------------------

    def create_counter_table(self, counter: CounterDef) -> None:
        self._exec(counters.create_sql(counter, "TEXT", "INTEGER"))

    def increment(self, counter: CounterDef, key: Mapping[str, Any], amount: int,
                  expire_at: int | None = None) -> int:
        purge = counters.purge_sql(counter, "?")
        if purge:
            self._exec(*purge)
        sql, params = counters.upsert_sql(counter, key, amount, expire_at, "?")
        return int(self._exec(sql, params).fetchone()[0])
