"""Loading many entities through the Admin API: keepalive sessions, a few threads."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

log = logging.getLogger(__name__)

THREADS = 4
Call = tuple[str, str, dict | None]      # method, path, JSON body


class BulkError(RuntimeError):
    pass


def run(admin: str, calls: Iterable[Call], threads: int = THREADS) -> list[Any]:
    """Runs every call (in any order); returns the decoded answers in call order."""
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def one(call: Call) -> Any:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            with lock:
                sessions.append(session)
        method, path, body = call
        resp = session.request(method, admin + path, json=body, timeout=60)
        if resp.status_code not in (200, 201, 204):
            raise BulkError(f"{method} {path} answered {resp.status_code}: {resp.text[:300]}")
        return resp.json() if resp.content else None

    calls = list(calls)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = list(pool.map(one, calls))
    finally:
        for s in sessions:
            s.close()
    took = time.monotonic() - started
    log.info("  %d Admin API calls in %.1f s (%.0f/s)", len(calls), took,
             len(calls) / took if took else 0)
    return results
