"""PostgreSQL strategy on psycopg2.

Connections come from a pool of the process (pg_pool.py: ``pg_pool_size``,
``pg_backlog``, ``pg_max_concurrent_queries``): gunicorn forks its workers
and a libpq connection must never cross a fork. A transaction holds one
connection from BEGIN to COMMIT; a statement outside one borrows a connection
for itself. Connections run in autocommit mode and ``transaction()`` issues
BEGIN/COMMIT itself, so reads outside a transaction never hold a snapshot
open. With ``read_only`` the strategy speaks to the ``pg_ro_*`` replica,
whose connections the server keeps read-only.

Every wait is bounded by ``pg_timeout`` (docs/datastores.md, "When the
datastore is down"): the server gives up on a statement, a lock or an idle
transaction a little earlier (``statement_timeout``, ``lock_timeout``,
``idle_in_transaction_session_timeout``: its own error, on a connection that
stays usable, comes first), TCP keepalives on both sides notice a dead peer,
and the client keeps a deadline of its own on the connection and on every
round trip (pg_wait.py), which a frozen server cannot stretch. A round trip
past its deadline puts the process's pool into an outage (outage.py): the
other callers fail at once instead of waiting out the same silence.

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
import time
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from kongpy import dbconf
from kongpy.db.strategies.base import Conflict, Listener
from kongpy.db.strategies.base import ident as _ident
from kongpy.db.strategies import pg_wait
from kongpy.db.strategies.pg_pool import ConnectionPool
from kongpy.db.strategies.sql import SQLStrategy
from kongpy.errors import ConfigError, DatabaseError, DatastoreUnavailable

log = logging.getLogger(__name__)

_KEY_DETAIL = re.compile(r"Key \((\w+)\)=")
# Events older than this are deleted now and then; the newest one always stays
# because its id is the configuration version.
EVENT_RETENTION_S = 86400
_PURGE_EVERY = 1000
_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
# statement_timeout and lock_timeout (both OperationalError for psycopg2).
_SERVER_TIMEOUTS = (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable)
# How much earlier than pg_timeout the server's own timeouts fire (at most).
_SERVER_MARGIN_MS = 500


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


def server_timeout_ms(timeout_ms: int) -> int:
    """The server-side timeouts: a fifth (at most 0.5 s) before ``pg_timeout``,
    so that a live server's error arrives before the client's deadline."""
    return timeout_ms - min(_SERVER_MARGIN_MS, timeout_ms // 5)


def _connect_params(s: dbconf.PgSettings) -> dict[str, Any]:
    timeout_s = s.timeout_ms / 1000.0
    idle_s = max(1, math.ceil(timeout_s))
    server_ms = server_timeout_ms(s.timeout_ms)
    options = [f"-c statement_timeout={server_ms}", f"-c lock_timeout={server_ms}",
               # A client that vanished (or froze) inside a transaction must not
               # keep its locks: the EXCLUSIVE one on cluster_events stops every
               # writer of every node.
               f"-c idle_in_transaction_session_timeout={server_ms}",
               f"-c tcp_keepalives_idle={idle_s}", "-c tcp_keepalives_interval=1",
               "-c tcp_keepalives_count=3"]
    if s.schema:
        try:
            options.append(f"-c search_path={_ident(s.schema)[1:-1]}")
        except ValueError:
            raise ConfigError.invalid("pg_ro_schema" if s.read_only else "pg_schema",
                                      f"'{s.schema}' is not a plain name") from None
    if s.read_only:
        # The server refuses any write through this connection.
        options.append("-c default_transaction_read_only=on")
    sslmode = "disable"
    if s.ssl:
        sslmode = "verify-full" if s.ssl_verify else "require"
    return {
        "host": s.host, "port": s.port, "user": s.user, "password": s.password,
        "dbname": s.database,
        # A backstop only: the connection's deadline (pg_wait.py) comes first.
        # libpq counts whole seconds (and at least 2).
        "connect_timeout": max(2, math.ceil(timeout_s)),
        "sslmode": sslmode, "options": " ".join(options),
        "application_name": "kongpy-ro" if s.read_only else "kongpy",
        # A dead server or network is noticed within about pg_timeout,
        # not after the kernel's default of many minutes.
        "keepalives": 1, "keepalives_idle": idle_s,
        "keepalives_interval": 1, "keepalives_count": 3,
        "tcp_user_timeout": s.timeout_ms,
    }


def _statement(conn: Any, timeout_s: float, sql: str, params: tuple,
               savepoint: bool) -> Any:
    """Runs one statement, each round trip within ``timeout_s``; raises
    Conflict on a unique violation and psycopg2's errors otherwise."""
    cur = conn.cursor()

    def execute(statement: str, args: tuple = ()) -> None:
        conn.deadline = time.monotonic() + timeout_s
        cur.execute(statement, args)

    # Inside a transaction an error aborts everything after it; a savepoint
    # lets the DAO recover from a conflict (e.g. purge an expired row, retry).
    if savepoint:
        execute("SAVEPOINT kongpy_write")
    try:
        execute(sql, params)
    except psycopg2.errors.UniqueViolation as exc:
        if savepoint:
            execute("ROLLBACK TO SAVEPOINT kongpy_write")
        match = _KEY_DETAIL.search(exc.diag.message_detail or "")
        raise Conflict(match.group(1) if match else "id") from exc
    if savepoint:
        execute("RELEASE SAVEPOINT kongpy_write")
    return cur


class PostgresStrategy(SQLStrategy):
    name = "postgres"
    MARK = "%s"
    TEXT = 'TEXT COLLATE "C"'
    EXPIRE_AT = "(entity::jsonb ->> 'expire_at')::float8"
    INTEGER = "BIGINT"
    FLOAT = "DOUBLE PRECISION"
    SERIAL = "BIGSERIAL PRIMARY KEY"
    DROP_SUFFIX = " CASCADE"

    def __init__(self, config: Mapping[str, Any], read_only: bool = False) -> None:
        super().__init__()
        settings = dbconf.postgres_replica(config) if read_only else dbconf.postgres(config)
        if settings is None:
            raise ConfigError("no read-only connection: pg_ro_host is not set",
                              prop="pg_ro_host")
        self.settings = settings
        self.host, self.port, self.schema = settings.host, settings.port, settings.schema
        self.timeout_s = settings.timeout_ms / 1000.0
        self._params = _connect_params(settings)
        self._pools: dict[int, ConnectionPool] = {}
        self._pools_lock = threading.Lock()
        self.channel = f"kongpy_events_{self.schema}" if self.schema else "kongpy_events"

    def describe(self) -> str:
        return self.settings.where()

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            conn = psycopg2.connect(connection_factory=pg_wait.factory(self.timeout_s),
                                    **self._params)
        except pg_wait.NO_ANSWER:
            raise self._silent() from None
        except _CONNECTION_ERRORS as exc:
            raise self._unavailable(exc) from None
        conn.autocommit = True
        self._pool().outage.answered()
        return conn

    def _unavailable(self, exc: BaseException) -> DatastoreUnavailable:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        return DatastoreUnavailable(f"cannot reach the datastore ({self.describe()}): {reason}")

    def _silent(self) -> DatastoreUnavailable:
        """No answer within pg_timeout: this process's callers fail fast for a while."""
        message = (f"cannot reach the datastore ({self.describe()}): no answer within "
                   f"{self.settings.timeout_ms} ms")
        self._pool().no_answer(message)
        return DatastoreUnavailable(message)

    def _pool(self) -> ConnectionPool:
        """This process's pool: a forked child never touches its parent's
        connections (not even to close them: that would end the parent's)."""
        pid = os.getpid()
        with self._pools_lock:
            pool = self._pools.get(pid)
            if pool is None:
                pool = self._pools[pid] = ConnectionPool(self._connect, self.settings)
            return pool

    def close(self) -> None:
        with self._pools_lock:
            pool = self._pools.pop(os.getpid(), None)
        if pool is not None:
            pool.close()

    @contextmanager
    def _hold(self) -> Iterator[Any]:
        # A slot and a connection of the pool, for the whole transaction.
        with self._pool().connection() as conn:
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    def _exec(self, sql: str, params: Iterable[Any] = (), savepoint: bool = False) -> Any:
        held = getattr(self._local, "conn", None)
        if held is not None:
            return self._run(held, sql, params, savepoint)
        with self._pool().connection() as conn:
            return self._run(conn, sql, params)

    def _run(self, conn: Any, sql: str, params: Iterable[Any] = (),
             savepoint: bool = False) -> Any:
        try:
            cur = _statement(conn, self.timeout_s, sql, tuple(params), savepoint)
        except pg_wait.NO_ANSWER:
            raise self._silent() from None  # psycopg2 closed the connection
        except _SERVER_TIMEOUTS as exc:
            # The server gave up within pg_timeout and says so: the connection
            # stays usable (a transaction around it rolls back) and the
            # caller gets the same 503 as for a silent server.
            raise self._unavailable(exc) from None
        except _CONNECTION_ERRORS as exc:
            conn.close()  # broken: the pool drops it
            raise self._unavailable(exc) from None
        except psycopg2.Error as exc:
            raise DatabaseError(f"[postgres] {str(exc).strip()}") from exc
        self._pool().outage.answered()
        return cur

    def _rollback(self, conn: Any) -> None:
        if not conn.closed:
            self._run(conn, "ROLLBACK")

    def _commit(self, conn: Any) -> None:
        self._run(conn, "COMMIT")

    def listener(self) -> Listener:
        with self._pool().outage.admitted():
            conn = self._connect()
            try:
                self._run(conn, f"LISTEN {_ident(self.channel)}")
            except BaseException:
                conn.close()
                raise
        return _PgListener(conn)

    # -- schema --------------------------------------------------------------------------

    def create_core_tables(self) -> None:
        if self.schema:
            self._exec(f"CREATE SCHEMA IF NOT EXISTS {_ident(self.schema)}")
        super().create_core_tables()

    def _tables(self) -> list[str]:
        rows = self._exec("SELECT tablename FROM pg_tables "
                          "WHERE schemaname = current_schema()").fetchall()
        return [r[0] for r in rows]

    def truncate_everything(self) -> None:
        names = [_ident(n) for n in self._tables() if n != "schema_meta"]
        if names:
            self._exec(f"TRUNCATE {', '.join(names)} RESTART IDENTITY")

    def _has_table(self, name: str) -> bool:
        row = self._exec("SELECT to_regclass(%s)", (name,)).fetchone()
        return row[0] is not None

    # -- rows ------------------------------------------------------------------------------

    def _key_value(self, value: Any) -> Any:
        return _text(value)

    def _tag_match(self, tags: list[str]) -> tuple[str, list[Any]]:
        return "tag = ANY(%s)", [tags]

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
