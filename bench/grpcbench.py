"""G1: unary gRPC calls through a kongpy node (a grpc route and service, h2c
on an `http2` proxy listener) against the same calls straight to the server.

The echo service is tests/helpers/grpc_echo.py (its .proto compiled at run
time), served by `python -m bench.grpcbench PORT` in a process of its own on the
load core. The client is a loop in this process: one channel per target,
one call in flight, so the figures are per-call latencies and the gateway
worker's CPU time per call; runs alternate (direct, gateway) as the pair
scenarios do. ghz is not available here.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import procs
from bench.context import Context, Skipped
from bench.node import Node

ROOT = Path(__file__).resolve().parents[1]


def _client_modules() -> tuple[Any, Any]:
    try:
        import grpc

        from tests.helpers import grpc_echo
    except ImportError as exc:
        raise Skipped(f"grpcio is not installed ({exc}): pip install -e '.[dev]'") from exc
    return grpc, grpc_echo


def _start_server(ctx: Context) -> tuple[int, Any]:
    port = procs.free_port()
    proc = procs.spawn([*procs.pin_args(procs.LOAD_CPU), sys.executable, "-m", "bench.grpcbench",
                        str(port)], log_path=ctx.workdir / "grpc-server.log", cwd=ROOT)
    stop = procs.managed(proc)
    try:
        procs.wait_port(port, timeout=30)
    except BaseException:
        stop()
        raise
    return port, stop


def _run(grpc: Any, grpc_echo: Any, address: str, seconds: float,
         pids: list[int]) -> dict[str, Any]:
    """Calls Say in a loop for `seconds`; per-call latencies, and the CPU time
    of `pids` (the gateway's worker) over the run."""
    with grpc.insecure_channel(address) as channel:
        stub = grpc_echo.stub(channel)
        request = grpc_echo.msg("bench")
        stub.Say(request, timeout=10)   # connected before the clock starts
        cpu0 = sum(procs.cpu_seconds(p) for p in pids)
        latencies = []
        errors = 0
        start = time.perf_counter()
        end = start + seconds
        now = start
        while now < end:
            try:
                stub.Say(request, timeout=10)
            except grpc.RpcError:
                errors += 1
            after = time.perf_counter()
            latencies.append(after - now)
            now = after
        elapsed = now - start
        cpu = sum(procs.cpu_seconds(p) for p in pids) - cpu0
    latencies.sort()
    calls = len(latencies)
    return {
        "calls": calls,
        "errors": errors,
        "rps": calls / elapsed,
        "p50_ms": latencies[calls // 2] * 1000,
        "p99_ms": latencies[min(calls - 1, int(calls * 0.99))] * 1000,
        "worker_cpu_us_per_call": cpu / calls * 1e6 if pids else None,
    }


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def g1(ctx: Context) -> dict[str, Any]:
    grpc, grpc_echo = _client_modules()
    port, stop_server = _start_server(ctx)
    try:
        def configure(node: Node) -> None:
            node.call("POST", "/services", {"name": "g1", "url": f"grpc://127.0.0.1:{port}"})
            node.call("POST", "/services/g1/routes", {"name": "g1", "protocols": ["grpc"],
                                                      "paths": [grpc_echo.PATH_PREFIX]})
        node = ctx.node("grpc", configure, proxy_flags="http2")
        direct, gateway = f"127.0.0.1:{port}", f"127.0.0.1:{node.proxy_port}"
        pids = node.worker_pids()
        _run(grpc, grpc_echo, direct, ctx.mode.warmup, [])
        _run(grpc, grpc_echo, gateway, ctx.mode.warmup, pids)
        runs = []
        for _ in range(ctx.mode.pairs):
            runs.append({"target": "direct",
                         **_run(grpc, grpc_echo, direct, ctx.mode.duration, [])})
            runs.append({"target": "G1",
                         **_run(grpc, grpc_echo, gateway, ctx.mode.duration, pids)})
    finally:
        stop_server()
    pairs = list(zip(runs[0::2], runs[1::2]))
    return {
        "kind": "grpc",
        "runs": runs,
        "direct": {"rps": _summary([d["rps"] for d, _ in pairs]),
                   "p50_ms": _summary([d["p50_ms"] for d, _ in pairs]),
                   "p99_ms": _summary([d["p99_ms"] for d, _ in pairs])},
        "gateway": {"rps": _summary([g["rps"] for _, g in pairs]),
                    "p50_ms": _summary([g["p50_ms"] for _, g in pairs]),
                    "p99_ms": _summary([g["p99_ms"] for _, g in pairs]),
                    "worker_cpu_us_per_call": _summary(
                        [g["worker_cpu_us_per_call"] for _, g in pairs])},
        "errors": sum(r["errors"] for r in runs),
        "ratios": {"throughput": {**_summary([g["rps"] / d["rps"] for d, g in pairs]),
                                  "pairs": [g["rps"] / d["rps"] for d, g in pairs]}},
    }


def _serve(port: int) -> None:
    from tests.helpers import grpc_echo

    server = grpc_echo.EchoServer("g1", port=port, workers=4)
    try:
        server.server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
