"""The counter tables of the rate-limiting plugins and the batch the data
plane's ``cluster`` policy sends (see docs/rate-limiting.md).

Kong's tables, with its columns: one counter per (identifier, period,
period_date, service_id, route_id). ``period_date`` is the window start in
epoch milliseconds, ``period`` e.g. ``minute`` (response-ratelimiting:
``<limit name>_<period>``).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from kongpy.db.strategies.base import CounterDef, Strategy
from kongpy.errors import BadBatch

KEY = ("identifier", "period", "period_date", "service_id", "route_id")
TABLES = {
    "ratelimiting_metrics": CounterDef("ratelimiting_metrics", KEY),
    "response_ratelimiting_metrics": CounterDef("response_ratelimiting_metrics", KEY),
}
MAX_BATCH = 5000


def _row(item: Any) -> tuple[dict[str, str], int, int | None]:
    if not isinstance(item, Mapping):
        raise BadBatch("each increment must be an object")
    try:
        key = {k: str(item[k]) for k in KEY}
        value = int(item.get("value", 0))
        ttl = item.get("ttl")
        expire_at = int(item["period_date"]) // 1000 + int(ttl) if ttl is not None else None
    except (KeyError, TypeError, ValueError) as exc:
        raise BadBatch(f"invalid increment: {exc}") from None
    return key, value, expire_at


def apply(strategy: Strategy, table: str, increments: Sequence[Any]) -> list[int]:
    """Adds every increment (one atomic upsert each); returns the new totals in order."""
    counter = TABLES.get(table)
    if counter is None:
        raise BadBatch(f"unknown table: {table}")
    if not isinstance(increments, list) or len(increments) > MAX_BATCH:
        raise BadBatch("increments must be a list of at most %d objects" % MAX_BATCH)
    rows = [_row(item) for item in increments]
    return [strategy.increment(counter, key, value, expire_at)
            for key, value, expire_at in rows]
