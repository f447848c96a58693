"""SQLite strategy on Python's sqlite3.

One connection per (process, thread): the Admin API runs under gunicorn with
several worker processes, and a connection must never cross a fork. WAL mode
lets readers run beside the single writer; writes take the lock up front
(``BEGIN IMMEDIATE``) so two writers queue on the busy timeout instead of
failing with a lock-upgrade deadlock.
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
from typing import Any, Iterable

from kongpy.db.strategies.base import Conflict
from kongpy.db.strategies.base import ident as _ident
from kongpy.db.strategies.sql import SQLStrategy
from kongpy.errors import ConfigError, DatabaseError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 30.0
_UNIQUE_FAILED = re.compile(r"UNIQUE constraint failed: \w+\.(\w+)")


class SQLiteStrategy(SQLStrategy):
    name = "sqlite"
    BEGIN = "BEGIN IMMEDIATE"

    def __init__(self, path: str) -> None:
        if not os.path.isabs(path):
            raise ConfigError.invalid("sqlite_path", f"must be an absolute path: {path}")
        super().__init__()
        self.path = path

    # -- connections -------------------------------------------------------------------

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

    def _exec(self, sql: str, params: Iterable[Any] = (),
              savepoint: bool = False) -> sqlite3.Cursor:
        try:
            return self._conn().execute(sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            match = _UNIQUE_FAILED.search(str(exc))
            if match:
                raise Conflict(match.group(1)) from exc
            raise DatabaseError(f"[sqlite] {exc}") from exc
        except sqlite3.Error as exc:
            raise DatabaseError(f"[sqlite] {exc}") from exc

    def _rollback(self, conn: sqlite3.Connection) -> None:
        conn.rollback()

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.commit()
        except sqlite3.Error as exc:
            conn.rollback()
            raise DatabaseError(f"[sqlite] {exc}") from exc

    # -- schema --------------------------------------------------------------------------

    def _tables(self) -> list[str]:
        rows = self._exec("SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite_%'").fetchall()
        return [row["name"] for row in rows]

    def _has_table(self, name: str) -> bool:
        return self._exec("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = ?", (name,)).fetchone() is not None

    def truncate_everything(self) -> None:
        with self.transaction():
            for name in self._tables():
                if name != "schema_meta":
                    self._exec(f"DELETE FROM {_ident(name)}")
            # AUTOINCREMENT remembers the highest id here; the version restarts at 0.
            self._exec("DELETE FROM sqlite_sequence")

    # -- cluster events -----------------------------------------------------------------------

    def append_event(self, channel: str, data: str, node_id: str | None, at: float) -> int:
        cur = self._exec('INSERT INTO "cluster_events" (channel, data, node_id, at) '
                         'VALUES (?, ?, ?, ?)', (channel, data, node_id, at))
        return int(cur.lastrowid)
