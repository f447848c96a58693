"""PostgreSQL strategy on psycopg2.

Like the SQLite strategy, one connection per (process, thread): gunicorn forks
its workers and a libpq connection must never cross a fork. Connections run
in autocommit mode and ``transaction()`` issues BEGIN/COMMIT itself, so reads
outside a transaction never hold a snapshot open.

Every write appends its cluster event under an EXCLUSIVE lock on
``cluster_events`` (see :meth:`append_event`) and NOTIFYs the event channel in
the same transaction: listeners learn of a change when it commits.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from kongpy.db.strategies import counters
from kongpy.db.strategies.base import Conflict, CounterDef, Listener, Strategy, TableDef
from kongpy.errors import DatabaseError, DatastoreUnavailable

log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEY_DETAIL = re.compile(r"Key \((\w+)\)=")
# Events older than this are deleted now and then; the newest one always stays
# because its id is the configuration version.
EVENT_RETENTION_S = 86400
_PURGE_EVERY = 1000
_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"invalid identifier: {name!r}")
    return f'"{name}"'


def _text(value: Any) -> Any:
    """Unique and key columns are TEXT: compare everything as its string form."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


class _PgListener(Listener):
    """A dedicated connection that LISTENs on the event channel."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def fileno(self) -> int:
        return self._conn.fileno()

    def drain(self) -> int:
        self._conn.poll()
        count = len(self._conn.notifies)
        self._conn.notifies.clear()
        return count

    def close(self) -> None:
        try:
            self._conn.close()
        except psycopg2.Error:
            pass


class PostgresStrategy(Strategy):
    name = "postgres"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = str(config.get("pg_host") or "127.0.0.1")
        self.port = int(config.get("pg_port") or 5432)
        self.schema = config.get("pg_schema") or None
        timeout_ms = int(config.get("pg_timeout") or 5000)
        self.timeout_s = timeout_ms / 1000.0
        options = [f"-c statement_timeout={timeout_ms}", f"-c lock_timeout={timeout_ms}"]
        if self.schema:
            options.append(f"-c search_path={_ident(self.schema)[1:-1]}")
        sslmode = "disable"
        if config.get("pg_ssl"):
            sslmode = "verify-full" if config.get("pg_ssl_verify") else "require"
        self._params = {
            "host": self.host, "port": self.port,
            "user": config.get("pg_user") or "kong",
            "password": config.get("pg_password") or "",
            "dbname": config.get("pg_database") or "kong",
            # libpq counts whole seconds (and at least 2).
            "connect_timeout": max(2, math.ceil(self.timeout_s)),
            "sslmode": sslmode, "options": " ".join(options),
            "application_name": "kongpy",
            # A dead server or network is noticed within about pg_timeout,
            # not after the kernel's default of many minutes.
            "keepalives": 1, "keepalives_idle": max(1, math.ceil(self.timeout_s)),
            "keepalives_interval": 1, "keepalives_count": 3,
            "tcp_user_timeout": timeout_ms,
        }
        self.channel = f"kongpy_events_{self.schema}" if self.schema else "kongpy_events"
        self._local = threading.local()

    def describe(self) -> str:
        return f"postgres at {self.host}:{self.port}"

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            conn = psycopg2.connect(**self._params)
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from None
        conn.autocommit = True
        return conn

    def _unavailable(self, exc: BaseException) -> DatastoreUnavailable:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        return DatastoreUnavailable(f"cannot reach the datastore ({self.describe()}): {reason}")

    def _conn(self) -> Any:
        local = self._local
        if getattr(local, "pid", None) != os.getpid() or local.conn is None:
            local.pid = os.getpid()
            local.conn = None
            local.depth = 0
            local.conn = self._connect()
        return local.conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            try:
                conn.close()
            except psycopg2.Error:
                pass
        self._local.conn = None
        self._local.depth = 0

    def close(self) -> None:
        self._drop()

    def _exec(self, sql: str, params: Iterable[Any] = (), savepoint: bool = False) -> Any:
        conn = self._conn()
        cur = conn.cursor()
        # Inside a transaction an error aborts everything after it; a savepoint
        # lets the DAO recover from a conflict (e.g. purge an expired row, retry).
        guarded = savepoint and self._local.depth > 0
        try:
            if guarded:
                cur.execute("SAVEPOINT kongpy_write")
            cur.execute(sql, tuple(params))
            if guarded:
                cur.execute("RELEASE SAVEPOINT kongpy_write")
            return cur
        except psycopg2.errors.UniqueViolation as exc:
            if guarded:
                cur.execute("ROLLBACK TO SAVEPOINT kongpy_write")
            match = _KEY_DETAIL.search(exc.diag.message_detail or "")
            raise Conflict(match.group(1) if match else "id") from exc
        except _CONNECTION_ERRORS as exc:
            self._drop()
            raise self._unavailable(exc) from None
        except psycopg2.Error as exc:
            raise DatabaseError(f"[postgres] {str(exc).strip()}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn()
        local = self._local
        if local.depth:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        self._exec("BEGIN")
        local.depth = 1
        try:
            yield
        except BaseException:
            self._end("ROLLBACK")
            raise
        self._end("COMMIT")

    def _end(self, statement: str) -> None:
        self._local.depth = 0
        if self._local.conn is not None:
            self._exec(statement)

    def ping(self) -> bool:
        try:
            self._exec("SELECT 1").fetchone()
            return True
        except (DatabaseError, DatastoreUnavailable):
            return False

    def listener(self) -> Listener:
        conn = self._connect()
        try:
            conn.cursor().execute(f"LISTEN {_ident(self.channel)}")
        except psycopg2.Error as exc:
            conn.close()
            raise self._unavailable(exc) from None
        return _PgListener(conn)

    # -- schema --------------------------------------------------------------------------

    def create_table(self, table: TableDef) -> None:
        text = 'TEXT COLLATE "C"'
        cols = [f"{_ident(table.primary_key)} {text} PRIMARY KEY"]
        cols += [f"{_ident(c)} {text} UNIQUE" for c in table.unique]
        cols += [f"{_ident(c)} {text}" for c in table.foreign.values()]
        cols += ['"created_at" BIGINT', '"entity" TEXT NOT NULL']
        self._exec(f"CREATE TABLE IF NOT EXISTS {_ident(table.name)} ({', '.join(cols)})")
        for col in table.foreign.values():
            index = _ident(f"{table.name}_{col}_idx")
            self._exec(f"CREATE INDEX IF NOT EXISTS {index} "
                       f"ON {_ident(table.name)} ({_ident(col)})")

    def create_core_tables(self) -> None:
        if self.schema:
            self._exec(f"CREATE SCHEMA IF NOT EXISTS {_ident(self.schema)}")
        self._exec('CREATE TABLE IF NOT EXISTS "tags" ("tag" TEXT COLLATE "C" NOT NULL, '
                   '"entity_name" TEXT COLLATE "C" NOT NULL, '
                   '"entity_id" TEXT COLLATE "C" NOT NULL, '
                   'PRIMARY KEY ("tag", "entity_name", "entity_id"))')
        self._exec('CREATE INDEX IF NOT EXISTS "tags_entity_idx" ON "tags" '
                   '("entity_name", "entity_id")')
        self._exec('CREATE TABLE IF NOT EXISTS "cluster_events" ('
                   '"id" BIGSERIAL PRIMARY KEY, "channel" TEXT NOT NULL, '
                   '"data" TEXT, "node_id" TEXT, "at" DOUBLE PRECISION NOT NULL)')
        self._exec('CREATE TABLE IF NOT EXISTS "schema_meta" ("subsystem" TEXT PRIMARY KEY, '
                   '"executed" TEXT NOT NULL, "pending" TEXT NOT NULL)')

    def _tables(self) -> list[str]:
        rows = self._exec("SELECT tablename FROM pg_tables "
                          "WHERE schemaname = current_schema()").fetchall()
        return [r[0] for r in rows]

    def drop_everything(self) -> None:
        for name in self._tables():
            self._exec(f"DROP TABLE IF EXISTS {_ident(name)} CASCADE")

    def truncate_everything(self) -> None:
        names = [_ident(n) for n in self._tables() if n != "schema_meta"]
        if names:
            self._exec(f"TRUNCATE {', '.join(names)} RESTART IDENTITY")

    # -- rows ------------------------------------------------------------------------------

    def _columns(self, table: TableDef, row: Mapping[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = {table.primary_key: row[table.primary_key]}
        for col in table.unique:
            cols[col] = _text(row.get(col))
        for fname, col in table.foreign.items():
            ref = row.get(fname)
            cols[col] = ref.get("id") if isinstance(ref, Mapping) else None
        cols["created_at"] = row.get("created_at")
        cols["entity"] = json.dumps(row, separators=(",", ":"))
        return cols

    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        names = ", ".join(_ident(c) for c in cols)
        marks = ", ".join("%s" for _ in cols)
        self._exec(f"INSERT INTO {_ident(table.name)} ({names}) VALUES ({marks})",
                   cols.values(), savepoint=True)

    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        cols = self._columns(table, row)
        sets = ", ".join(f"{_ident(c)} = %s" for c in cols)
        self._exec(f"UPDATE {_ident(table.name)} SET {sets} "
                   f"WHERE {_ident(table.primary_key)} = %s",
                   list(cols.values()) + [pk], savepoint=True)

    def delete(self, table: TableDef, pk: str) -> bool:
        cur = self._exec(f"DELETE FROM {_ident(table.name)} WHERE "
                         f"{_ident(table.primary_key)} = %s", (pk,))
        return cur.rowcount > 0

    def select(self, table: TableDef, pk: str) -> dict | None:
        return self.select_by(table, table.primary_key, pk)

    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None:
        row = self._exec(f"SELECT entity FROM {_ident(table.name)} "
                         f"WHERE {_ident(column)} = %s LIMIT 1", (_text(value),)).fetchone()
        return json.loads(row[0]) if row else None

    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Iterable[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
        pk = _ident(table.primary_key)
        clauses, params = [], []
        if cursor is not None:
            clauses.append(f"{pk} > %s")
            params.append(cursor)
        for col, value in where.items():
            clauses.append(f"{_ident(col)} = %s")
            params.append(value)
        tag_list = list(dict.fromkeys(tags or []))
        if tag_list:
            having = "" if tags_any else f" HAVING COUNT(DISTINCT tag) = {len(tag_list)}"
            clauses.append(f"{pk} IN (SELECT entity_id FROM tags WHERE entity_name = %s "
                           f"AND tag = ANY(%s) GROUP BY entity_id{having})")
            params += [table.name, tag_list]
        sql = f"SELECT entity FROM {_ident(table.name)}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {pk} LIMIT %s"
        rows = [json.loads(r[0]) for r in self._exec(sql, params + [size + 1]).fetchall()]
        if len(rows) <= size:
            return rows, None
        rows = rows[:size]
        return rows, rows[-1][table.primary_key]

    def count_by(self, table: TableDef, column: str, value: Any) -> int:
        row = self._exec(f"SELECT COUNT(*) FROM {_ident(table.name)} "
                         f"WHERE {_ident(column)} = %s", (value,)).fetchone()
        return int(row[0])

    # -- tags ------------------------------------------------------------------------------

    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None:
        self._exec('DELETE FROM "tags" WHERE entity_name = %s AND entity_id = %s',
                   (entity_name, entity_id))
        for tag in dict.fromkeys(tags):
            self._exec('INSERT INTO "tags" (tag, entity_name, entity_id) VALUES (%s, %s, %s)',
                       (tag, entity_name, entity_id))

    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        clauses, params = [], []
        if after is not None:
            clauses.append("(tag, entity_name, entity_id) > (%s, %s, %s)")
            params += list(after)
        if tag is not None:
            clauses.append("tag = %s")
            params.append(tag)
        sql = 'SELECT tag, entity_name, entity_id FROM "tags"'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY tag, entity_name, entity_id LIMIT %s"
        return [{"tag": r[0], "entity_name": r[1], "entity_id": r[2]}
                for r in self._exec(sql, params + [size]).fetchall()]

    # -- cluster events -----------------------------------------------------------------------

    def append_event(self, channel: str, data: str, node_id: str | None, at: float) -> int:
        with self.transaction():
            # Sequence values are handed out at INSERT but become visible at
            # COMMIT, possibly out of order: a node could read MAX(id) = 6 while
            # 5 is still uncommitted and never look back. Holding this lock to
            # the end of the transaction makes ids commit in order. Readers
            # (ACCESS SHARE) are not blocked.
            self._exec('LOCK TABLE "cluster_events" IN EXCLUSIVE MODE')
            event_id = int(self._exec(
                'INSERT INTO "cluster_events" (channel, data, node_id, at) '
                'VALUES (%s, %s, %s, %s) RETURNING id', (channel, data, node_id, at)
            ).fetchone()[0])
            # Delivered at COMMIT, only if the transaction commits.
            self._exec("SELECT pg_notify(%s, %s)", (self.channel, str(event_id)))
            if event_id % _PURGE_EVERY == 0:
                self._exec('DELETE FROM "cluster_events" WHERE at < %s AND id < %s',
                           (at - EVENT_RETENTION_S, event_id))
        return event_id

    def latest_event(self) -> int:
        row = self._exec('SELECT MAX(id) FROM "cluster_events"').fetchone()
        return int(row[0] or 0)

    def events_since(self, after: int, limit: int = 1000) -> list[dict]:
        rows = self._exec('SELECT id, channel, data, node_id, at FROM "cluster_events" '
                          'WHERE id > %s ORDER BY id LIMIT %s', (after, limit)).fetchall()
        keys = ("id", "channel", "data", "node_id", "at")
        return [dict(zip(keys, r)) for r in rows]

    # -- migration bookkeeping ------------------------------------------------------------------

    def meta_get(self, subsystem: str) -> dict | None:
        if self._exec("SELECT to_regclass('schema_meta')").fetchone()[0] is None:
            return None
        row = self._exec('SELECT executed, pending FROM "schema_meta" WHERE subsystem = %s',
                         (subsystem,)).fetchone()
        if not row:
            return None
        return {"executed": json.loads(row[0]), "pending": json.loads(row[1])}

    def meta_set(self, subsystem: str, executed: list[str], pending: list[str]) -> None:
        self._exec('INSERT INTO "schema_meta" (subsystem, executed, pending) '
                   'VALUES (%s, %s, %s) ON CONFLICT (subsystem) DO UPDATE '
                   'SET executed = EXCLUDED.executed, pending = EXCLUDED.pending',
                   (subsystem, json.dumps(executed), json.dumps(pending)))

    # -- counters --------------------------------------------------------------------------

    def create_counter_table(self, counter: CounterDef) -> None:
        self._exec(counters.create_sql(counter, 'TEXT COLLATE "C"', "BIGINT"))

    def increment(self, counter: CounterDef, key: Mapping[str, Any], amount: int,
                  expire_at: int | None = None) -> int:
        purge = counters.purge_sql(counter, "%s")
        if purge:
            self._exec(*purge)
        sql, params = counters.upsert_sql(counter, key, amount, expire_at, "%s")
        return int(self._exec(sql, params).fetchone()[0])
