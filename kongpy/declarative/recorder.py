"""Records configuration versions off the Admin API's request path.

An Admin API write marks the recorder and answers at once; a thread of the
worker process exports and stores the version (kongpy/declarative/history.py).
While it records, further writes only accumulate: the next version covers
all of them and names each origin once. A burst (decK, a bulk load) thus
costs a few exports instead of one per write, and a write never waits for
one. A worker's own history reads :meth:`flush` first, so a client sees its
own writes; another worker's may take the time of one export to appear.

Started lazily in the process that marks (Admin API workers fork after the
application is built). Marks still pending when the process ends are
recorded with the next change. :meth:`close` records what is pending and
ends the thread, before the application's datastore is closed.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any

from kongpy.declarative import history

log = logging.getLogger(__name__)

_FLUSH_TIMEOUT = 60.0


class Recorder:
    def __init__(self, db: Any, size: int) -> None:
        self.db = db
        self.size = size
        self._cond = threading.Condition()
        self._origins: list[str] = []
        self._busy = False
        self._pid: int | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def mark(self, origin: str) -> None:
        if self.size <= 0:
            return
        with self._cond:
            if self._closed:
                return
            if origin not in self._origins:
                self._origins.append(origin)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="config-history",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float = _FLUSH_TIMEOUT) -> None:
        """Waits until every change marked so far is recorded (or ``timeout``)."""
        with self._cond:
            self._cond.wait_for(lambda: not self._origins and not self._busy, timeout)

    def close(self, timeout: float = _FLUSH_TIMEOUT) -> None:
        """Records what is pending, then ends the thread (later marks are ignored)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._origins) or self._closed)
                if not self._origins:
                    return
                origins, self._origins, self._busy = self._origins, [], True
            try:
                history.record(self.db, ", ".join(origins), self.size)
            except Exception:  # noqa: BLE001 - writes are committed; only log
                log.exception("recording the configuration history failed")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
