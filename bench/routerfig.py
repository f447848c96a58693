"""Router figures measured from outside the data plane (R2, R3).

The data plane does not report its router build time, so:
- `push_build_s`: POST /snapshot on the control socket of the snapshot the node
  serves, once with its hash altered and once as it is, both without the
  header's `pieces` (docs/contracts.md §1): the data plane sees new content
  each time and nothing it could reuse, so the receiving worker decodes,
  validates, builds and applies the whole configuration (router included)
  before it answers. The content never changes, so traffic is unaffected.
- `push_reload_s`: the same with `pieces`: what a full reload costs when
  the worker already holds the rows (it decodes nothing and keeps its router).
- `change_to_all_workers_s`: Admin API 2xx of a route change → every worker
  reports the new version on GET /snapshot (control plane snapshot + push +
  build, end to end).
"""
from __future__ import annotations

import json
import logging
import statistics
import time
from typing import Any

from bench.context import Context
from bench.node import Node
from kongpy.sync import snapshot

log = logging.getLogger(__name__)

REPEAT = 3


def push_build(node: Node, pieces: bool = False) -> float | None:
    """Median time of full pushes of the served content (None if not measurable)."""
    blob = (node.prefix / "config" / "snapshot.jsonl").read_bytes()
    header, _, body = blob.partition(b"\n")
    head = json.loads(header)
    served = node.dp_state()
    if served.get("hash") != head.get("hash"):
        log.warning("%s: the snapshot file is not what the node serves", node.name)
        return None
    if not pieces:
        head.pop("pieces", None)
        blob = snapshot.frame(head, body)
    # the same content under another hash: the data plane must rebuild it
    altered = snapshot.frame(dict(head, hash=head["hash"][::-1]), body)
    times = []
    for _ in range(REPEAT):
        for body in (altered, blob):
            started = time.monotonic()
            res = node.control.push(body)
            times.append(time.monotonic() - started)
            if not res.applied:
                raise RuntimeError(f"{node.name}: the data plane refused its own snapshot: "
                                   f"{res.body}")
    return statistics.median(times)


def _probe_paths(i: int) -> dict[str, Any]:
    return {"paths": [f"/probe{i}"]}


def _probe_expression(i: int) -> dict[str, Any]:
    return {"expression": f'http.path ^= "/probe{i}"'}


def change_to_all_workers(node: Node, probe: Any = _probe_paths) -> float:
    times = []
    route = node.call("POST", "/services/up/routes", {"name": "probe", **probe(0)})
    node.wait_synced()
    for i in range(1, REPEAT + 1):
        node.call("PATCH", f"/routes/{route['id']}", probe(i))
        acked = time.monotonic()
        seen = node.wait_version(node.db_version())
        times.append(seen - acked)
    node.call("DELETE", f"/routes/{route['id']}")
    node.wait_synced()
    return statistics.median(times)


def _lua_gc(node: Node) -> int:
    vms = node.control.status().get("memory", {}).get("workers_lua_vms", [])
    return sum(int(vm.get("http_allocated_gc") or 0) for vm in vms)


def figures(ctx: Context, result: dict[str, Any]) -> dict[str, Any]:
    return _figures(ctx, result, "r2", _probe_paths)


def figures_r3(ctx: Context, result: dict[str, Any]) -> dict[str, Any]:
    return _figures(ctx, result, "r3", _probe_expression)


def _figures(ctx: Context, result: dict[str, Any], name: str, probe: Any) -> dict[str, Any]:
    small, big = ctx.nodes["r1"], ctx.nodes[name]
    per_k = ctx.mode.routes / 1000
    rss_small = result["baseline"]["rss_kib"]
    rss_big = result["subject"]["rss_kib"]
    out = {
        "routes": ctx.mode.routes,
        "push_build_s": push_build(big),
        "push_reload_s": push_build(big, pieces=True),
        "push_build_1_route_s": push_build(small),
        "change_to_all_workers_s": change_to_all_workers(big, probe),
        "rss_kib_1_route": rss_small,
        "rss_kib_many_routes": rss_big,
        "rss_kib_per_1000_routes": (rss_big - rss_small) / per_k if per_k else None,
        "lua_gc_bytes_1_route": _lua_gc(small),
        "lua_gc_bytes_many_routes": _lua_gc(big),
        "snapshot_bytes": (big.prefix / "config" / "snapshot.jsonl").stat().st_size,
    }
    log.info("  router: build %s s (push), change→all workers %.3f s, %.0f KiB RSS / 1k",
             out["push_build_s"], out["change_to_all_workers_s"],
             out["rss_kib_per_1000_routes"] or 0)
    return out
