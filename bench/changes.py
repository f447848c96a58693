"""Change under load: C1 (route changes) and C3 (key revocation).

A wrk run paced at about half the node's saturation rate runs in the
background; a probe connection measures, for every change, the time from the
Admin API's 2xx to the first proxied answer that reflects it.
"""
from __future__ import annotations

import http.client
import logging
import threading
import time
from typing import Any

from bench import keyauth, runner, wrk
from bench.context import Context
from bench.node import Node
from bench.runner import Subject

log = logging.getLogger(__name__)

PACE_MS = 4               # wrk's pause per connection between response and request
PROBE_EVERY = 0.001
CALIBRATE_S = 2
PROBE_TIMEOUT = 10.0


def basic_node(ctx: Context) -> Node:
    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "up", "url": ctx.upstream.url})
        node.call("POST", "/services/up/routes", {"name": "s1", "paths": ["/s1"]})
    return ctx.node("basic", configure)


def half_load(ctx: Context, scenario: str, subject: Subject) -> tuple[wrk.Load, float]:
    """A paced load at ~50% of the subject's saturation rate."""
    done = ctx.results.get(scenario, {})
    rps = done.get("subject", {}).get("rps", {}).get("median") if done.get("status") == "ok" \
        else None
    if not rps:
        rps = runner.measure(ctx.workdir, subject, max(2.0, ctx.mode.duration / 2)).rps
    rate = rps / 2
    load = wrk.Load(path=subject.load.path, requests_file=subject.load.requests_file,
                    connections=max(2, round(rate * PACE_MS / 1000)), delay_ms=PACE_MS)
    # a connection's cycle is the pause plus the latency plus wrk's timer slack:
    # calibrate the width once rather than guess it
    got = wrk.run(ctx.workdir, subject.target.url, load, CALIBRATE_S).rps
    if got > 0:
        load.connections = max(1, min(1000, round(load.connections * rate / got)))
    return load, rate


class Background(threading.Thread):
    """One bounded wrk run in a thread."""

    def __init__(self, ctx: Context, url: str, load: wrk.Load, seconds: float) -> None:
        super().__init__(daemon=True)
        self.args = (ctx.workdir, url, load, seconds)
        self.result: wrk.Result | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.result = wrk.run(*self.args)
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            self.error = exc


def probe_until(port: int, path: str, status: int, headers: dict[str, str] | None = None,
                timeout: float = PROBE_TIMEOUT) -> float | None:
    """Requests `path` until it answers `status`; returns when (monotonic) or None."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            resp.read()
            if resp.status == status:
                return time.monotonic()
            time.sleep(PROBE_EVERY)
    finally:
        conn.close()
    return None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def _summary(latencies: list[float | None], bg: Background, node: Node, marks: int,
             workers: list[int], rate: float) -> dict[str, Any]:
    bg.join(timeout=120)
    if bg.error:
        raise bg.error
    res = bg.result
    ok = [x for x in latencies if x is not None]
    return {
        "changes": len(latencies),
        "missed": len(latencies) - len(ok),
        "p50_s": _percentile(ok, 0.50),
        "p99_s": _percentile(ok, 0.99),
        "max_s": max(ok) if ok else None,
        "samples_s": latencies,
        "load_target_rps": rate,
        "load_rps": res.rps if res else None,
        "load_p99_ms": res.p99_ms if res else None,
        "non2xx": res.non2xx if res else None,
        "socket_errors": res.socket_errors if res else None,
        "reloads": node.reload_marks() - marks,
        "workers_replaced": sorted(node.worker_pids()) != sorted(workers),
    }


def _tick(start: float, i: int) -> None:
    delay = start + i - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def c1(ctx: Context) -> dict[str, Any]:
    node = basic_node(ctx)
    subject = ctx.subject("S1")
    load, rate = half_load(ctx, "S1", subject)
    node.call("POST", "/services/up/routes", {"name": "c1probe", "paths": ["/c1/0"]})
    node.wait_synced()
    marks, workers = node.reload_marks(), node.worker_pids()
    seconds = ctx.mode.change_seconds
    bg = Background(ctx, subject.target.url, load, seconds + 2)
    bg.start()
    time.sleep(1.0)
    start, latencies = time.monotonic(), []
    for i in range(1, seconds + 1):
        _tick(start, i - 1)
        node.call("PATCH", "/routes/c1probe", {"paths": [f"/c1/{i}"]})
        acked = time.monotonic()
        seen = probe_until(node.proxy_port, f"/c1/{i}", 200)
        latencies.append(seen - acked if seen else None)
    return _summary(latencies, bg, node, marks, workers, rate)


def c3(ctx: Context) -> dict[str, Any]:
    subject = ctx.subject("S2")
    node = ctx.nodes["ka1"]
    victims = keyauth.add_consumers(node, ctx.mode.revocations, prefix="rv")
    node.wait_synced()
    load, rate = half_load(ctx, "S2", subject)
    marks, workers = node.reload_marks(), node.worker_pids()
    bg = Background(ctx, subject.target.url, load, ctx.mode.revocations + 3)
    bg.start()
    time.sleep(1.0)
    start, latencies = time.monotonic(), []
    for i, (name, key, cred_id) in enumerate(victims):
        _tick(start, i)
        headers = {keyauth.KEY_HEADER: key}
        if probe_until(node.proxy_port, "/ka", 200, headers, timeout=2) is None:
            raise RuntimeError(f"key of {name} is not accepted before its revocation")
        node.call("DELETE", f"/consumers/{name}/key-auth/{cred_id}")
        acked = time.monotonic()
        seen = probe_until(node.proxy_port, "/ka", 401, headers)
        latencies.append(seen - acked if seen else None)
    return _summary(latencies, bg, node, marks, workers, rate)
