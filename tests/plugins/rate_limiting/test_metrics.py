"""The counter tables behind the `cluster` policy, on every datastore: an
increment is atomic and answers the value it produced."""
from __future__ import annotations

import threading

import pytest

import kongpy.db
from kongpy.db import metrics
from tests.helpers.datastores import BACKENDS, clean


@pytest.fixture(scope="module", params=BACKENDS)
def strategy(request, datastore_pool):
    handle = kongpy.db.open(datastore_pool.get(request.param))
    clean(handle)
    for name in metrics.TABLES:
        handle.strategy.create_counter_table(metrics.TABLES[name])
    yield handle.strategy
    handle.close()


def _row(identifier: str, value: int = 1) -> dict:
    return {"identifier": identifier, "period": "minute", "period_date": 1700000040000,
            "service_id": "s", "route_id": "r", "value": value, "ttl": 60}


def test_increment_returns_new_totals(strategy):
    assert metrics.apply(strategy, "ratelimiting_metrics", [_row("a", 2), _row("b")]) == [2, 1]
    assert metrics.apply(strategy, "ratelimiting_metrics", [_row("a", 3)]) == [5]
    # the other table keeps its own counters
    assert metrics.apply(strategy, "response_ratelimiting_metrics", [_row("a")]) == [1]
    assert metrics.apply(strategy, "ratelimiting_metrics", [_row("a", 0)]) == [5]


def test_concurrent_increments_lose_nothing(strategy):
    def work() -> None:
        for _ in range(25):
            metrics.apply(strategy, "ratelimiting_metrics", [_row("race")])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert metrics.apply(strategy, "ratelimiting_metrics", [_row("race", 0)]) == [100]


def test_bad_batches_are_refused(strategy):
    with pytest.raises(metrics.BadBatch):
        metrics.apply(strategy, "nope", [])
    with pytest.raises(metrics.BadBatch):
        metrics.apply(strategy, "ratelimiting_metrics", [{"identifier": "x"}])
