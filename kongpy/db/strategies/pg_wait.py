"""A deadline on every wait for PostgreSQL, kept by the client.

``statement_timeout``, ``lock_timeout`` and TCP keepalives all need the
server, or at least its kernel, to act. A server whose processes are stopped
(SIGSTOP, a hung host, a paused VM or container) still has its kernel accept
connections and acknowledge packets: none of them fires, and libpq, which
waits without a limit, would wait for ever.

psycopg2 lets one callback do libpq's waiting (``set_wait_callback``, its
"green" mode). Ours waits with poll() until the connection's ``deadline`` and
then raises :class:`_NoAnswer`; psycopg2 closes the connection and raises it
to the caller. The callback is process-wide, as psycopg2 has only one:
connections of another class than :class:`DeadlineConnection` wait without a
limit, as libpq would.
"""
from __future__ import annotations

import select
import time
from functools import partial
from typing import Any, Callable

import psycopg2
import psycopg2.extensions

_POLL = {psycopg2.extensions.POLL_READ: select.POLLIN,
         psycopg2.extensions.POLL_WRITE: select.POLLOUT}


class _NoAnswer(psycopg2.OperationalError):
    """The server did not answer before the deadline (the connection is closed)."""


class DeadlineConnection(psycopg2.extensions.connection):
    """A connection whose waits end at ``deadline`` (``time.monotonic()``; None: never).

    The caller sets it before each use; the first one covers the connection
    itself (TCP, TLS, authentication).
    """

    def __init__(self, dsn: str, *args: Any, deadline: float | None = None,
                 **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(dsn, *args, **kwargs)


def factory(timeout_s: float) -> Callable[..., DeadlineConnection]:
    """A ``connection_factory`` for a connection that must be made within ``timeout_s``."""
    install()
    return partial(DeadlineConnection, deadline=time.monotonic() + timeout_s)


def install() -> None:
    if psycopg2.extensions.get_wait_callback() is not _wait:
        psycopg2.extensions.set_wait_callback(_wait)


def _wait(conn: Any) -> None:
    deadline = getattr(conn, "deadline", None)
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        event = _POLL.get(state)
        if event is None:
            raise psycopg2.OperationalError(f"unexpected connection state {state}")
        if deadline is None:
            wait_ms = None
        else:
            wait_ms = (deadline - time.monotonic()) * 1000.0
            if wait_ms <= 0:
                raise _NoAnswer("no answer before the deadline")
        poller = select.poll()
        poller.register(conn.fileno(), event)
        poller.poll(wait_ms)


# The strategy catches it by this name; it must stay a psycopg2 error for the
# wait callback, hence private and outside kongpy's own hierarchy.
NO_ANSWER = (_NoAnswer,)
