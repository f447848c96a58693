"""``GET /`` reports the timers of the node's nginx workers (Kong's
``timers: {running, pending}``), counted live: the timer-probe fixture plugin
(tests/fixtures/plugins/kong/plugins/timer-probe/) leaves a known number of
them behind on a one-worker node."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
HOLD_S = 3
REQUESTS = 4


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(workers=1, plugins="bundled, timer-probe",
                      plugins_path=str(FIXTURE_PLUGINS))


def _timers(gw) -> dict:
    timers = admin(gw).get("/")["timers"]
    assert set(timers) == {"running", "pending"}
    assert all(isinstance(v, int) and v >= 0 for v in timers.values()), timers
    return timers


def test_timers_are_the_workers_own(gateway, upstream):
    gw = gateway
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/timers", {"name": "timer-probe", "config": {"hold": HOLD_S}})
    gw.wait_sync()
    before = _timers(gw)
    started = time.monotonic()
    for _ in range(REQUESTS):
        assert proxy(gw).get("/timers").status_code == 200
    during = _timers(gw)
    assert time.monotonic() - started < HOLD_S, "too slow to see the timers held"
    assert during["running"] >= before["running"] + REQUESTS, (before, during)
    assert during["pending"] >= before["pending"] + REQUESTS, (before, during)
    time.sleep(HOLD_S + 1)
    after = _timers(gw)
    assert after["running"] <= during["running"] - REQUESTS, (during, after)
    assert after["pending"] <= during["pending"] - REQUESTS, (during, after)
