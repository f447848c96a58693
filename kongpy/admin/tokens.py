"""The Admin API tokens one worker process knows, refreshed at most every REFRESH_S.

Requests are checked against this in-memory set, never against the datastore
directly. The set is refreshed lazily, by the first request that finds it
older than REFRESH_S, rather than by a background thread: an idle Admin API
then costs the datastore nothing, no thread has to be started after
gunicorn's fork, and a revoked token still stops working everywhere within
REFRESH_S plus one query. Threads of a worker share the set under a lock, so
a refresh runs once; while it runs, the others use the set already known
(a silent datastore holds a refresh for the whole ``pg_timeout``, and no
request should wait for another's) and only wait when none is known yet.

When a refresh fails the last good set stays in use (the failure is logged
once, until a refresh succeeds again); with no good set yet, nothing can be
checked and :class:`~kongpy.errors.TokensUnavailable` is raised.
"""
from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Callable, Mapping

from kongpy.db.admin_tokens import Holder, hash_token
from kongpy.errors import TokensUnavailable

log = logging.getLogger(__name__)

REFRESH_S = 0.5


class TokenCache:
    def __init__(self, load: Callable[[], Mapping[str, Holder]],
                 refresh_s: float = REFRESH_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, Holder] | None = None
        self._checked_at: float | None = None
        self._failing = False

    def find(self, token: str) -> Holder | None:
        """Who holds ``token``, or None when nobody does."""
        wanted = hash_token(token)
        found = None
        # Every stored hash is compared in constant time, without stopping at
        # a match: the answer's timing says nothing about which hash matched.
        for stored, holder in self._current().items():
            if hmac.compare_digest(stored, wanted):
                found = holder
        return found

    def _current(self) -> dict[str, Holder]:
        known = self._known
        if known is None:
            self._lock.acquire()
        elif not self._lock.acquire(blocking=False):
            return known  # another thread is refreshing it
        try:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self._refresh_s:
                # Set first: a failing datastore is retried once per period,
                # not by every request.
                self._checked_at = now
                self._refresh()
            if self._known is None:
                raise TokensUnavailable()
            return self._known
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        try:
            self._known = dict(self._load())
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good set
            if not self._failing:
                self._failing = True
                kept = "none" if self._known is None else len(self._known)
                log.error("cannot read the admin tokens (keeping the last known: %s): %s",
                          kept, exc)
            return
        if self._failing:
            self._failing = False
            log.info("admin tokens readable again")
