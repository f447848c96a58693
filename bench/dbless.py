"""D1: `POST /config` of a large declarative document on a DB-less node.

A DB-less node (`database = off`) starts from a one-route document; under
a paced load at about half its saturation rate on that route, `POST /config`
replaces its configuration with `routes` routes and `consumers` consumers
(each with a key-auth key). Reported: the time the Admin API took to answer,
the time until a route of the new document answers through the proxy, the
node's peak memory (every process of the node, sampled every 0.1 s) and
what the load saw meanwhile (non-2xx answers and socket errors must be 0:
the route under load is in both documents).
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bench import changes
from bench.context import Context
from bench.node import Node
from bench.runner import Subject

SAMPLE_EVERY = 0.1
SERVE_TIMEOUT = 300.0


def _document(upstream_url: str, routes: int, consumers: int) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{
            "name": "up", "url": upstream_url,
            "routes": [{"name": "s1", "paths": ["/s1"]}] + [
                {"name": f"d1-{i}", "paths": [f"/d1/{i}"]} for i in range(routes)],
        }],
        "consumers": [{"username": f"c{i}", "keyauth_credentials": [{"key": f"d1-key-{i}"}]}
                      for i in range(consumers)],
    }


def _node_pids(node: Node) -> list[int]:
    """The node's processes: those naming its prefix, and their children."""
    prefix = str(node.prefix).encode()
    found: set[int] = set()
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents[int(entry.name)] = ppid
        if prefix in cmdline:
            found.add(int(entry.name))
    grown = True
    while grown:
        children = {pid for pid, ppid in parents.items() if ppid in found} - found
        grown = bool(children)
        found |= children
    return sorted(found)


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class _Peak(threading.Thread):
    """The largest sum of the node's resident memory while it runs."""

    def __init__(self, node: Node) -> None:
        super().__init__(daemon=True)
        self.node, self.stop, self.peak_kib, self.before_kib = node, threading.Event(), 0, 0

    def total(self) -> int:
        return sum(_rss_kib(pid) for pid in _node_pids(self.node))

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, self.total())
            time.sleep(SAMPLE_EVERY)


def d1(ctx: Context) -> dict[str, Any]:
    routes, consumers = ctx.mode.routes, ctx.mode.consumers
    base = ctx.workdir / "d1-base.json"
    base.write_text(json.dumps(_document(ctx.upstream.url, 0, 0)))
    node = ctx.node("dbless", lambda _n: None,
                    extra={"database": "off", "declarative_config": str(base)})
    subject = Subject(node.target("D1"), ctx.load("/s1"))
    load, rate = changes.half_load(ctx, "D1", subject)
    text = json.dumps(_document(ctx.upstream.url, routes, consumers))
    marks, workers = node.reload_marks(), node.worker_pids()
    peak = _Peak(node)
    peak.before_kib = peak.total()
    peak.start()
    seconds = 60
    bg = changes.Background(ctx, subject.target.url, load, seconds)
    bg.start()
    time.sleep(2.0)
    posted = time.monotonic()
    resp = requests.post(node.admin + "/config", json={"config": text}, timeout=SERVE_TIMEOUT)
    acked = time.monotonic()
    if resp.status_code != 201:
        raise RuntimeError(f"POST /config answered {resp.status_code}: {resp.text[:300]}")
    seen = changes.probe_until(node.proxy_port, f"/d1/{routes - 1}", 200,
                               timeout=SERVE_TIMEOUT)
    key_seen = changes.probe_until(node.proxy_port, "/s1", 200, timeout=SERVE_TIMEOUT)
    bg.join(timeout=seconds + 60)
    peak.stop.set()
    peak.join(timeout=5)
    if bg.error:
        raise bg.error
    res = bg.result
    return {
        "kind": "dbless",
        "routes": routes,
        "consumers": consumers,
        "document_mib": len(text) / 1048576,
        "post_s": acked - posted,
        "served_s": (seen - posted) if seen else None,
        "still_served": key_seen is not None,
        "rss_before_mib": peak.before_kib / 1024,
        "rss_peak_mib": peak.peak_kib / 1024,
        "load_target_rps": rate,
        "load_rps": res.rps if res else None,
        "load_seconds": seconds,
        "non2xx": res.non2xx if res else None,
        "socket_errors": res.socket_errors if res else None,
        "reloads": node.reload_marks() - marks,
        "workers_replaced": sorted(node.worker_pids()) != sorted(workers),
    }
