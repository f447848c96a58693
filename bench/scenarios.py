"""The scenario table. One entry adds one scenario to the suite.

A pair scenario names a subject builder (a target plus the load to send it) and
the baseline it is interleaved with; a change scenario is a function that runs
on its own and returns its figures.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import (bigcfg, bulk, changes, dbless, grpcbench, health, keyauth, metrics,
                   routerfig, servers, stream, tls, wrk)
from bench.context import Context, Skipped
from bench.node import Node
from bench.runner import Subject

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    build: Callable[[Context], Subject] | None = None
    change: Callable[[Context], dict[str, Any]] | None = None
    baseline: str = "S0"
    nodes: tuple[str, ...] = ()
    targets: dict[str, float] = field(default_factory=dict)
    extra: Callable[[Context, dict[str, Any]], dict[str, Any]] | None = None


# -- baselines and peers --------------------------------------------------------

def _s0l(ctx: Context) -> Subject:
    return Subject(servers.start_baseline(ctx.workdir, ctx.upstream, lua=True), ctx.load("/"))


def _s0h(ctx: Context) -> Subject:
    return Subject(servers.start_headers(ctx.workdir, ctx.upstream), ctx.load("/"))


def _peer(kind: str) -> Callable[[Context], Subject]:
    def build(ctx: Context) -> Subject:
        target = servers.start_peer(kind, ctx.workdir, ctx.upstream)
        if target is None:
            raise Skipped(f"{kind} is not installed (scripts/setup.sh --dev)")
        return Subject(target, ctx.load("/"))
    return build


# -- kongpy, one route ------------------------------------------------------------

def _s1(ctx: Context) -> Subject:
    return Subject(changes.basic_node(ctx).target("S1"), ctx.load("/s1"))


# -- kongpy, one route with the observability plugins ----------------------------------

def _s7(ctx: Context) -> Subject:
    """S1's route with prometheus (every metric switch on) and http-log
    batching to a local collector (the upstream nginx answers its POSTs)."""
    def configure(node: Node) -> None:
        r = keyauth.route(node, ctx, "/s7")
        keyauth.enable_plugin(node, "prometheus", r["id"], {
            "status_code_metrics": True, "latency_metrics": True,
            "bandwidth_metrics": True, "upstream_health_metrics": True})
        keyauth.enable_plugin(node, "http-log", r["id"], {
            "http_endpoint": ctx.upstream.url + "/collector",
            "queue": {"max_batch_size": 200, "max_coalescing_delay": 1}})
    return Subject(ctx.node("s7", configure).target("S7"), ctx.load("/s7"))


# -- kongpy, one route with the transformation plugins ------------------------------

def _s8(ctx: Context) -> Subject:
    """S1's route with request-transformer (adds two request headers) and
    response-transformer (adds one response header)."""
    def configure(node: Node) -> None:
        r = keyauth.route(node, ctx, "/s8")
        keyauth.enable_plugin(node, "request-transformer", r["id"], {
            "add": {"headers": ["x-bench-a:1", "x-bench-b:2"]}})
        keyauth.enable_plugin(node, "response-transformer", r["id"], {
            "add": {"headers": ["x-bench-c:3"]}})
    return Subject(ctx.node("s8", configure).target("S8"), ctx.load("/s8"))


# -- kongpy, one route answered from proxy-cache ---------------------------------------

def _p1(ctx: Context) -> Subject:
    """A route with proxy-cache (memory strategy, the upstream's text/plain
    cacheable for an hour): every request after the first is a hit served by
    the worker from the node's shared dictionary, never reaching the upstream."""
    def configure(node: Node) -> None:
        r = keyauth.route(node, ctx, "/p1")
        keyauth.enable_plugin(node, "proxy-cache", r["id"], {
            "strategy": "memory", "content_type": ["text/plain"], "cache_ttl": 3600})
    return Subject(ctx.node("p1", configure).target("P1"), ctx.load("/p1"))


# -- kongpy, one route over an upstream ----------------------------------------------

def _l1(ctx: Context) -> Subject:
    def configure(node: Node) -> None:
        node.call("POST", "/upstreams", {"name": "l1.upstream"})
        for ip in ("127.0.0.1", *servers.EXTRA_IPS):
            node.call("POST", "/upstreams/l1.upstream/targets",
                      {"target": f"{ip}:{ctx.upstream.port}"})
        node.call("POST", "/services", {"name": "lb", "host": "l1.upstream", "port": 80})
        node.call("POST", "/services/lb/routes", {"name": "l1", "paths": ["/l1"]})
    return Subject(ctx.node("lb", configure).target("L1"), ctx.load("/l1"))


# -- router scale -------------------------------------------------------------------

Row = tuple[str, str, str, str]


def _layout(n: int) -> list[tuple[dict, Callable[[str], str], str]]:
    """n routes: 90% prefix (one in nine of them with a host), 10% regex routes
    sharing a prefix with a prefix route. Each comes with a path maker (given
    an id) and the Host to send."""
    n_regex = n // 10
    out: list[tuple[dict, Callable[[str], str], str]] = []
    for i in range(n - n_regex):
        route: dict[str, Any] = {"paths": [f"/r/{i}"]}
        host = "-"
        if i % 9 == 0:
            host = f"h{i}.bench.test"
            route["hosts"] = [host]
        out.append((route, lambda ident, i=i: f"/r/{i}/a{ident}", host))
    for j in range(n_regex):
        out.append(({"paths": [rf"~/r/{j}/items/\d+$"]},
                    lambda ident, j=j: f"/r/{j}/items/{ident}", "-"))
    return out


def _rows(n: int, unique: bool, per_route: int = 5, seed: int = 7) -> list[Row]:
    """One request per route, or (unique) several with a random id in the
    path: the key space then exceeds the router's cache."""
    rnd = random.Random(seed)
    rows: list[Row] = []
    for _, make, host in _layout(n):
        if unique:
            rows.extend((make(str(rnd.randrange(10**7))), host, "-", "-")
                        for _ in range(per_route))
        else:
            rows.append((make("7"), host, "-", "-"))
    return rows


def _requests_file(ctx: Context, unique: bool) -> Any:
    path = ctx.workdir / f"requests-r-{'unique' if unique else 'spread'}.tsv"
    if not path.exists():
        wrk.write_requests(path, _rows(ctx.mode.routes, unique))
    return path


def _r_node(ctx: Context, many: bool) -> Node:
    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "up", "url": ctx.upstream.url})
        if not many:
            node.call("POST", "/services/up/routes", {"name": "all", "paths": ["/"]})
            return
        bulk.run(node.admin, [("POST", "/services/up/routes", route)
                              for route, _, _ in _layout(ctx.mode.routes)])
    return ctx.node("r2" if many else "r1", configure)


def _expression(route: dict[str, Any]) -> dict[str, Any]:
    """R3: an R2 route written as an expression (router_flavor = expressions)."""
    (path,) = route["paths"]
    if path.startswith("~"):
        expression = f'http.path ~ r#"^{path[1:]}"#'
    else:
        expression = f'http.path ^= "{path}/"'
    if route.get("hosts"):
        expression += f' && http.host == "{route["hosts"][0]}"'
    return {"expression": expression}


def _r3(ctx: Context) -> Subject:
    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "up", "url": ctx.upstream.url})
        bulk.run(node.admin, [("POST", "/services/up/routes", _expression(route))
                              for route, _, _ in _layout(ctx.mode.routes)])
    node = ctx.node("r3", configure, extra={"router_flavor": "expressions"})
    return Subject(node.target("R3"), ctx.load("/", _requests_file(ctx, False)))


def _r(many: bool, unique: bool) -> Callable[[Context], Subject]:
    def build(ctx: Context) -> Subject:
        node = _r_node(ctx, many)
        name = ("R2" if many else "R1") + ("x" if unique else "")
        return Subject(node.target(name), ctx.load("/", _requests_file(ctx, unique)))
    return build


# -- the table ------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    Scenario("S0H", "bare nginx + kongpy's header work (forwarding headers, Via, request id, "
             "latency headers; no Lua)", build=_s0h),
    Scenario("S0L", "bare nginx + empty Lua phases (access, header_filter, balancer)",
             build=_s0l),
    Scenario("S1", "kongpy, one route, no plugins", build=_s1, nodes=("basic",),
             targets={"efficiency": 0.70, "vs_S0H": 0.90}),
    Scenario("S0T", "bare nginx over TLS, the certificate of S1T", build=tls.s0t),
    Scenario("S1T", "kongpy over TLS, one route, the certificate chosen by SNI",
             build=tls.s1t, baseline="S0T", nodes=("tls",), targets={"efficiency": 0.85}),
    Scenario("L1", "kongpy, one route over an upstream of three targets (round-robin)",
             build=_l1, baseline="S1", nodes=("basic", "lb"), targets={"efficiency": 0.95}),
    Scenario("S7", "kongpy, S1 + prometheus (all metrics) + http-log batching to a local "
             "collector", build=_s7, baseline="S1", nodes=("basic", "s7"),
             targets={"efficiency": 0.85}),
    Scenario("S8", "kongpy, S1 + request-transformer (adds two headers) + "
             "response-transformer (adds one header)", build=_s8, baseline="S1",
             nodes=("basic", "s8"), targets={"efficiency": 0.85}),
    Scenario("P1", "kongpy, proxy-cache hits (memory) vs bare nginx proxying the same answer",
             build=_p1, nodes=("p1",), targets={"efficiency": 0.80}),
    Scenario("S2", "kongpy, key-auth, one consumer", build=keyauth.s2, nodes=("ka1",),
             targets={"efficiency": 0.65}),
    Scenario("S9", "kongpy, oauth2, one valid bearer token", build=keyauth.s9,
             baseline="S2", nodes=("ka1", "oa1"), targets={"efficiency": 0.85}),
    Scenario("S3", "kongpy, key-auth, 10,000 consumers, random valid key",
             build=keyauth.s3, nodes=("ka-many",), targets={"efficiency": 0.62}),
    Scenario("S4", "kongpy, key-auth + rate-limiting (local)", build=keyauth.s4,
             nodes=("ka-rl",), targets={"efficiency": 0.60}),
    Scenario("S5", "kongpy, rate-limiting (redis)", build=keyauth.s5, nodes=("rl-redis",),
             targets={"efficiency": 0.45}),
    Scenario("caddy", "Caddy reverse_proxy, one route", build=_peer("caddy")),
    Scenario("haproxy", "HAProxy, one backend", build=_peer("haproxy")),
    Scenario("R1", "kongpy, 1 catch-all route, requests spread as in R2",
             build=_r(False, False), nodes=("r1",)),
    Scenario("R2", "kongpy, 10,000 routes (prefix, regex, hosts), requests spread",
             build=_r(True, False), baseline="R1", nodes=("r1", "r2"),
             targets={"throughput": 0.95, "push_build_s": 0.3, "change_to_all_workers_s": 0.05},
             extra=routerfig.figures),
    Scenario("R3", "kongpy, router_flavor = expressions, 10,000 expression routes (R2's "
             "as expressions), requests spread", build=_r3, baseline="R1", nodes=("r1", "r3"),
             targets={"throughput": 0.95, "push_build_s": 0.5}, extra=routerfig.figures_r3),
    Scenario("R1x", "kongpy, 1 route, a unique path per request", build=_r(False, True),
             nodes=("r1",)),
    Scenario("R2x", "kongpy, 10,000 routes, a unique path per request (router-cache misses)",
             build=_r(True, True), baseline="R1x", nodes=("r1", "r2")),
    Scenario("L2", "kongpy, an upstream of three targets, active health checks every 1 s",
             build=health.l2, baseline="S1", nodes=("basic", "l2"), targets={"efficiency": 0.95}),
    Scenario("T1", "kongpy stream proxy, one tcp route, TCP echo (per echo)",
             build=stream.t1, baseline="T0", nodes=("stream",), targets={"efficiency": 0.90}),
    Scenario("G1", "kongpy, unary gRPC calls (h2c) vs the same calls straight to the server",
             change=grpcbench.g1, nodes=("grpc",)),
    Scenario("D1", "DB-less node: POST /config of 10,000 routes and 10,000 consumers "
             "under 50% load", change=dbless.d1, nodes=("dbless",)),
    Scenario("S7M", "kongpy, one route, prometheus (every switch on)", build=metrics.p1,
             baseline="S1", nodes=("basic", "prometheus"), targets={"efficiency": 0.90}),
    Scenario("M1", "prometheus: a scrape of /metrics with 10,000 counted routes",
             change=metrics.m1, nodes=("m1", "m1-latency"), targets={"scrape_ms": 200.0}),
    Scenario("K1", "100,000 consumers with a key-auth key each (quick: 10,000): load, "
             "full reload CPU and RSS of the worker", change=bigcfg.k1, nodes=("k1",),
             targets={"load_s": 2.0, "reload_cpu_s": 0.3, "rss_mib": 80}),
    Scenario("C1", "one route change per second under 50% load", change=changes.c1,
             nodes=("basic",), targets={"propagation_p99_s": 1.0}),
    Scenario("C3", "key-auth credential revocation under 50% load", change=changes.c3,
             nodes=("ka1",), targets={"revocation_p99_s": 1.0}),
]

BY_NAME = {s.name: s for s in SCENARIOS}


# Baselines that are not scenarios of their own (no HTTP baseline to compare them with).
BASELINES: dict[str, Callable[[Context], Subject]] = {"T0": stream.t0}


def builders() -> dict[str, Callable[[Context], Subject]]:
    return {**BASELINES, **{s.name: s.build for s in SCENARIOS if s.build is not None}}
