"""The `cluster` rate-limiting counters: from the data plane to the datastore and back.

The data plane counts in its shared dict and queues every counter it
touched (lua/kongpy/tools/ratelimit/cluster.lua). Each round, when the data
plane reports queued counters, the sync loop takes them over the control
socket (their deltas), adds each to the datastore with one atomic upsert
(kongpy.db.metrics), and hands the new totals back; what it could not store
goes back to the data plane's queue with the reason, so instances that are
not fault tolerant stop counting alone while the datastore is unreachable.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from kongpy.db import metrics

log = logging.getLogger(__name__)


def sync(client: Any, db: Any) -> int:
    """Moves one batch of counters; returns how many totals were stored."""
    taken = client.take_counters()
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in taken:
        by_table[str(rec.get("table"))].append(rec)
    totals: list[dict[str, Any]] = []
    try:
        for table, recs in by_table.items():
            values = metrics.apply(db.strategy, table, recs)
            totals += [{"key": rec.get("key"), "value": value, "ttl": rec.get("ttl")}
                       for rec, value in zip(recs, values)]
    except Exception as exc:  # handed back whatever the failure, then raised again
        stored = {t["key"] for t in totals}
        returned = [rec for rec in taken if rec.get("key") not in stored]
        client.settle_counters(totals, returned, error=_message(exc))
        raise
    client.settle_counters(totals, [])
    return len(totals)


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return f"cluster policy sync failed: {text}"
