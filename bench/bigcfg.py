"""K1: a node with many consumers, each with one key-auth credential.

The entities are loaded with `kongpy config db_import` of one declarative
document before the node starts (100,000 Admin API calls would take longer
than the rest of the suite). Reported, for the node's one worker:

- `load_s`: the round trip of `POST /snapshot` of the served content under
  another hash and without its `pieces` (docs/contracts.md §1): the worker
  decodes, validates and builds everything, as a worker that holds nothing;
- `reload_cpu_s`: the worker's CPU seconds (utime + stime) for a full push of
  the served content under another hash, pieces listed (what a full reload of
  an unchanged or slightly changed configuration costs), median of 3;
- `rss_mib`: the worker's VmRSS once the node serves its configuration
  (loaded at start); `rss_after_pushes_mib` after the cold loads and reloads
  above (the allocator keeps what the loads' peaks took);
- `request_status`: a request through the proxy with one of the keys (200 expected).
"""
from __future__ import annotations

import json
import statistics
import time
from typing import Any

import requests

from bench import procs
from bench.context import Context
from bench.keyauth import KEY_HEADER
from bench.node import Node
from kongpy.sync import snapshot

REPEAT = 3


def _document(upstream_url: str, count: int) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{"name": "up", "url": upstream_url,
                      "routes": [{"name": "k1", "paths": ["/k1"]}]}],
        "plugins": [{"name": "key-auth", "route": "k1"}],
        "consumers": [{"username": f"c{i}", "keyauth_credentials": [{"key": f"k1-key-{i}"}]}
                      for i in range(count)],
    }


def _push(node: Node, header: dict[str, Any], body: bytes) -> float:
    started = time.monotonic()
    res = node.control.push(snapshot.frame(header, body))
    took = time.monotonic() - started
    if not res.applied:
        raise RuntimeError(f"{node.name}: the data plane refused its own snapshot: {res.body}")
    return took


def k1(ctx: Context) -> dict[str, Any]:
    count = ctx.mode.credentials
    node = Node(ctx.workdir, "k1", {**ctx.node_extra, "snapshot_cache_size": "256m"})
    doc = ctx.workdir / "k1.json"
    doc.write_text(json.dumps(_document(ctx.upstream.url, count)))
    imported = time.monotonic()
    node.start(prepare=lambda n: n.cli("config", "db_import", str(doc),
                                       "-c", str(n.conf_path), timeout=1800))
    start_s = time.monotonic() - imported
    ctx.nodes["k1"] = node
    node.wait_synced(timeout=600)
    (pid,) = node.worker_pids()
    time.sleep(1.0)
    rss_started = procs.rss_kib(pid) / 1024
    blob = (node.prefix / "config" / "snapshot.jsonl").read_bytes()
    line, _, body = blob.partition(b"\n")
    head = json.loads(line)
    head.pop("snapshot_format", None)
    cold = {k: v for k, v in head.items() if k != "pieces"}
    loads = [_push(node, dict(cold, hash=f"{i:02d}" + head["hash"][2:]), body)
             for i in range(REPEAT)]
    # the worker holds no pieces after a cold load: the first reload decodes
    # them all, the next ones are what a reload costs
    _push(node, head, body)
    cpus = []
    for i in range(REPEAT):
        before = procs.cpu_seconds(pid)
        _push(node, dict(head, hash=f"{i:02d}" + head["hash"][::-1][2:]), body)
        cpus.append(procs.cpu_seconds(pid) - before)
    _push(node, head, body)
    time.sleep(1.0)
    resp = requests.get(f"http://127.0.0.1:{node.proxy_port}/k1",
                        headers={KEY_HEADER: f"k1-key-{count // 2}"}, timeout=10)
    return {
        "kind": "config",
        "credentials": count,
        "snapshot_mib": len(blob) / 1048576,
        "import_and_start_s": start_s,
        "load_s": statistics.median(loads),
        "reload_cpu_s": statistics.median(cpus),
        "rss_mib": rss_started,
        "rss_after_pushes_mib": procs.rss_kib(pid) / 1024,
        "request_status": resp.status_code,
    }
