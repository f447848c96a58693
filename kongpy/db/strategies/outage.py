"""One process's knowledge that its datastore server stopped answering.

A server that accepts connections but never answers (its processes stopped,
a hung host, a paused VM) costs every call the full timeout. Each call is
bounded by it, but callers queued behind those calls (the Admin API's
threads are few) would then start their own wait and answer after twice the
timeout or more. So, from the first call that got no answer on, the others
fail at once with the same message, except one *probe* at a time, at most
one per :data:`PROBE_EVERY_S`, which tries the server with its full timeout.
The first answer, to the probe or to any call already on its way, ends the
outage; the next caller finds the server as usual. A server that refuses
connections (stopped, restarting) answers at once and never starts one.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from kongpy.errors import DatastoreUnavailable

log = logging.getLogger(__name__)

PROBE_EVERY_S = 1.0


class Outage:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._probe_at = 0.0
        self._probing = False
        self._local = threading.local()

    @property
    def reason(self) -> str | None:
        """Why the server is taken as silent, or None while it answers."""
        return self._reason

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Lets a call through, or raises DatastoreUnavailable at once.

        Calls nested in an admitted one (same thread) are let through."""
        local = self._local
        if getattr(local, "inside", False):
            yield
            return
        probe = False
        with self._lock:
            if self._reason is not None:
                if self._probing or self._clock() < self._probe_at:
                    raise DatastoreUnavailable(self._reason)
                self._probing = probe = True
        local.inside, local.probe = True, probe
        try:
            yield
        finally:
            local.inside, local.probe = False, False
            if probe:
                with self._lock:
                    self._probing = False

    def recheck(self) -> None:
        """Inside :meth:`admitted`, before waiting on the server or for another
        caller: raises DatastoreUnavailable if an outage began meanwhile and
        this caller is not its probe."""
        reason = self._reason
        if reason is not None and not getattr(self._local, "probe", False):
            raise DatastoreUnavailable(reason)

    def no_answer(self, reason: str) -> None:
        """A call got no answer within its timeout; ``reason`` is its message."""
        with self._lock:
            first = self._reason is None
            self._reason = reason
            self._probe_at = self._clock() + PROBE_EVERY_S
        if first:
            log.warning("%s; failing fast until it answers again", reason)

    def answered(self) -> None:
        if self._reason is None:  # the usual case, without the lock
            return
        with self._lock:
            if self._reason is None:
                return
            self._reason = None
        log.warning("the datastore answers again")
