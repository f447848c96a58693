"""The PostgreSQL connections of one process, within Kong's limits.

Kong's limits are per nginx worker; ours are per process (an Admin API
worker with its threads, the sync loop), the unit that owns connections:

- ``pg_max_concurrent_queries`` (0: none): a slot around each use of a
  connection, a statement outside a transaction or a whole transaction (a
  slot per statement inside a transaction could leave a transaction holding
  locks while it waits for a slot that a blocked statement holds). A caller
  that gets no slot within ``pg_semaphore_timeout`` ms fails with Kong's
  ``error acquiring query semaphore: timeout``.
- ``pg_pool_size``: the idle connections kept for reuse; more may be open
  while in use. With ``pg_backlog`` set, also the most connections open at
  once: a caller finding them all busy waits (at most ``pg_timeout`` ms) in a
  queue of at most ``pg_backlog`` callers, and beyond it fails at once
  (Kong's ``too many waiting connect operations``).

Both failures are :class:`~kongpy.errors.DatastoreBusy` (the Admin API's
503): the datastore answers, this process is at its limits.

When the server stops answering (:meth:`ConnectionPool.no_answer`, see
outage.py) the idle connections are dropped and the callers waiting for a
slot or a connection fail at once instead of inheriting a silent one.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from kongpy.db.strategies.outage import Outage
from kongpy.dbconf import PgSettings
from kongpy.errors import DatastoreBusy


class ConnectionPool:
    def __init__(self, connect: Callable[[], Any], settings: PgSettings) -> None:
        self._connect = connect
        self._settings = settings
        self.outage = Outage()
        self._cond = threading.Condition()
        self._idle: list[Any] = []
        self._open = 0
        self._waiting = 0
        self._slots_used = 0
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A slot and a connection for one statement or one transaction."""
        with self.outage.admitted():
            self._acquire_slot()
            try:
                conn = self._checkout()
                try:
                    yield conn
                finally:
                    self._checkin(conn)
            finally:
                self._release_slot()

    def _wait(self, deadline: float) -> bool:
        """Waits for a change under the lock; False once the deadline has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self._cond.wait(left)
        self.outage.recheck()
        return True

    def _acquire_slot(self) -> None:
        limit = self._settings.max_concurrent_queries
        if limit <= 0:
            return
        deadline = time.monotonic() + self._settings.semaphore_timeout_ms / 1000.0
        with self._cond:
            while self._slots_used >= limit:
                if not self._wait(deadline):
                    raise DatastoreBusy("error acquiring query semaphore: timeout")
            self._slots_used += 1

    def _release_slot(self) -> None:
        if self._settings.max_concurrent_queries > 0:
            with self._cond:
                self._slots_used -= 1
                self._cond.notify_all()

    def _checkout(self) -> Any:
        s = self._settings
        deadline = time.monotonic() + s.timeout_ms / 1000.0
        with self._cond:
            while not self._idle and s.backlog is not None and self._open >= s.pool_size:
                if self._waiting >= s.backlog:
                    raise DatastoreBusy(f"cannot get a connection to {s.where()}: too many "
                                        f"waiting connect operations (pg_pool_size = "
                                        f"{s.pool_size}, pg_backlog = {s.backlog})")
                self._waiting += 1
                try:
                    waited = self._wait(deadline)
                finally:
                    self._waiting -= 1
                if not waited:
                    raise DatastoreBusy(f"cannot get a connection to {s.where()}: timeout "
                                        f"(pg_pool_size = {s.pool_size} in use)")
            if self._idle:
                return self._idle.pop()
            self.outage.recheck()
            self._open += 1
        try:
            return self._connect()
        except BaseException:
            self._forget()
            raise

    def _checkin(self, conn: Any) -> None:
        with self._cond:
            keep = not conn.closed and not self._closed and len(self._idle) < \
                self._settings.pool_size
            if keep:
                self._idle.append(conn)
            else:
                self._open -= 1
            self._cond.notify_all()
        if not keep:
            _close(conn)

    def _forget(self) -> None:
        with self._cond:
            self._open -= 1
            self._cond.notify_all()

    def no_answer(self, reason: str) -> None:
        """The server did not answer in time: drop the idle connections (as
        silent as the one that timed out) and fail the waiting callers."""
        self.outage.no_answer(reason)
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            _close(conn)

    def open_count(self) -> int:
        with self._cond:
            return self._open

    def close(self) -> None:
        """Closes the idle connections; those in use close when given back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for conn in idle:
            _close(conn)


def _close(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - a broken connection is being dropped anyway
        pass
