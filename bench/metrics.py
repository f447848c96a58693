"""The prometheus plugin: S7M, what it costs a request; M1, a scrape with
10,000 counted routes.

S7M: one route with a global prometheus instance, every switch on (status
codes, latency histograms, bandwidth, per consumer), interleaved with S1
(the same route without the plugin).

M1:
A DB-less node serves `routes` routes (one service) with a global prometheus
instance (status codes and bandwidth: three samples per route, Kong's
defaults for a dashboard of requests and traffic); every route gets one
request, so every route has its counters. Then the Status API's `/metrics`
is scraped `SCRAPES` times: reported are the scrape's time (median, max),
its size and sample count, and the same for the Admin API's `/metrics`
(the text fetched over the control socket). A last pass turns
latency_metrics on too (three histograms per route) for reference. Target:
the Status API scrape under 200 ms.
"""
from __future__ import annotations

import http.client
import json
import statistics
import time
from typing import Any

from bench import procs
from bench.context import Context
from bench.node import Node
from bench.runner import Subject

SCRAPES = 10
EVERY_SWITCH = {"per_consumer": True, "status_code_metrics": True, "latency_metrics": True,
                "bandwidth_metrics": True, "upstream_health_metrics": True}
SWITCHES = {"status_code_metrics": True, "bandwidth_metrics": True}
# 10,000 routes x (3 samples + 3 histograms) outgrow Kong's 5m default
DICT = "prometheus_metrics 256m"


def _document(upstream_url: str, routes: int, latency: bool) -> dict[str, Any]:
    config = {**SWITCHES, "latency_metrics": latency}
    return {
        "_format_version": "3.0",
        "services": [{"name": "up", "url": upstream_url, "routes": [
            {"name": f"m1-{i}", "paths": [f"/m1/{i}"]} for i in range(routes)]}],
        "plugins": [{"name": "prometheus", "config": config}],
    }


def _traffic(port: int, routes: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    failed = 0
    try:
        for i in range(routes):
            conn.request("GET", f"/m1/{i}")
            resp = conn.getresponse()
            resp.read()
            failed += resp.status != 200
    finally:
        conn.close()
    return failed


def _scrapes(port: int, path: str) -> dict[str, Any]:
    """Timed with a plain HTTP client that only reads the bytes (a Prometheus
    server's cost, not a Python parser's)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, body = [], b""
    try:
        for _ in range(SCRAPES):
            start = time.monotonic()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            times.append((time.monotonic() - start) * 1000)
            if resp.status != 200:
                raise RuntimeError(f"GET {path} answered {resp.status}")
    finally:
        conn.close()
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {"median_ms": statistics.median(times), "max_ms": max(times),
            "kib": len(body) / 1024, "samples": samples}


def _pass(ctx: Context, name: str, latency: bool) -> dict[str, Any]:
    routes = ctx.mode.routes
    doc = ctx.workdir / f"{name}.json"
    doc.write_text(json.dumps(_document(ctx.upstream.url, routes, latency)))
    status_port = procs.free_port()
    node = ctx.node(name, lambda _n: None, extra={
        "database": "off", "declarative_config": str(doc),
        "status_listen": f"127.0.0.1:{status_port}", "nginx_http_lua_shared_dict": DICT})
    failed = _traffic(node.proxy_port, routes)
    time.sleep(1.5)  # the worker adds its counts to the shared dict each second
    status = _scrapes(status_port, "/metrics")
    admin = _scrapes(node.admin_port, "/metrics")
    ctx.nodes.pop(name).stop()
    return {"failed_requests": failed, "status_api": status, "admin_api": admin}


def p1(ctx: Context) -> Subject:
    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "p1", "url": ctx.upstream.url})
        node.call("POST", "/services/p1/routes", {"name": "p1", "paths": ["/p1"]})
        node.call("POST", "/plugins", {"name": "prometheus", "config": EVERY_SWITCH})
    return Subject(ctx.node("prometheus", configure).target("S7M"), ctx.load("/p1"))


def m1(ctx: Context) -> dict[str, Any]:
    counted = _pass(ctx, "m1", latency=False)
    with_latency = _pass(ctx, "m1-latency", latency=True)
    return {
        "kind": "metrics",
        "routes": ctx.mode.routes,
        "switches": "status_code_metrics, bandwidth_metrics",
        **counted,
        "with_latency": with_latency,
        "target_ms": 200.0,
    }
