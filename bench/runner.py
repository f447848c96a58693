"""Interleaved runs (baseline, subject, baseline, subject …) and their figures."""
from __future__ import annotations

import logging
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import procs, wrk
from bench.servers import Target

log = logging.getLogger(__name__)


@dataclass
class Run:
    """One wrk run against one target, with the target's CPU time over it."""

    target: str
    rps: float
    cpu_us: float            # worker CPU µs per request (utime + stime ÷ requests)
    cpu_busy: float          # worker CPU seconds ÷ wall seconds
    p50_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    timeouts: int
    requests: int
    rss_kib: int


@dataclass
class Subject:
    """A target and the load to send it."""

    target: Target
    load: Any                # wrk.Load, or a load with run(workdir, target, duration)


def drive(workdir: Path, subject: Subject, duration: float) -> wrk.Result:
    """One run of the subject's load: wrk, or a load with a `run` of its own
    (bench/stream.py's TCP echo client)."""
    own = getattr(subject.load, "run", None)
    if own is not None:
        return own(workdir, subject.target, duration)
    return wrk.run(workdir, subject.target.url, subject.load, duration)


def measure(workdir: Path, subject: Subject, duration: float) -> Run:
    pids = subject.target.pids()
    before = sum(procs.cpu_seconds(p) for p in pids)
    res = drive(workdir, subject, duration)
    cpu = sum(procs.cpu_seconds(p) for p in pids) - before
    rss = sum(procs.rss_kib(p) for p in pids)
    return Run(
        target=subject.target.name, rps=res.rps,
        cpu_us=cpu * 1e6 / res.requests if res.requests else 0.0,
        cpu_busy=cpu / res.duration_s if res.duration_s else 0.0,
        p50_ms=res.p50_ms, p99_ms=res.p99_ms, non2xx=res.non2xx,
        socket_errors=res.socket_errors, timeouts=res.timeouts,
        requests=res.requests, rss_kib=rss)


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarize(runs: list[Run]) -> dict[str, Any]:
    return {
        "rps": spread([r.rps for r in runs]),
        "cpu_us_per_req": spread([r.cpu_us for r in runs]),
        "p50_ms": spread([r.p50_ms for r in runs]),
        "p99_ms": spread([r.p99_ms for r in runs]),
        "non2xx": sum(r.non2xx for r in runs),
        "socket_errors": sum(r.socket_errors for r in runs),
        "timeouts": sum(r.timeouts for r in runs),
        "requests": sum(r.requests for r in runs),
        "rss_kib": max((r.rss_kib for r in runs), default=0),
        "cpu_busy": spread([r.cpu_busy for r in runs]),
    }


def interleave(workdir: Path, base: Subject, subj: Subject, pairs: int, duration: float,
               warmup: float) -> dict[str, Any]:
    """Runs `pairs` adjacent (baseline, subject) pairs; returns figures and ratios."""
    if warmup > 0:
        for s in (base, subj):
            drive(workdir, s, warmup)
    base_runs: list[Run] = []
    subj_runs: list[Run] = []
    for i in range(pairs):
        base_runs.append(measure(workdir, base, duration))
        subj_runs.append(measure(workdir, subj, duration))
        b, s = base_runs[-1], subj_runs[-1]
        log.info("  pair %d/%d: %s %.0f rps %.1f µs | %s %.0f rps %.1f µs", i + 1, pairs,
                 b.target, b.rps, b.cpu_us, s.target, s.rps, s.cpu_us)
    # a pair where either side failed requests gives no ratio
    whole = [(b, s) for b, s in zip(base_runs, subj_runs) if not broken(b) and not broken(s)]
    throughput = [s.rps / b.rps for b, s in whole]
    efficiency = [b.cpu_us / s.cpu_us for b, s in whole]
    out: dict[str, Any] = {
        "baseline": summarize(base_runs),
        "subject": summarize(subj_runs),
        "broken_pairs": len(base_runs) - len(whole),
        "runs": [asdict(r) for r in (x for pair in zip(base_runs, subj_runs) for x in pair)],
    }
    if whole:
        out["ratios"] = {
            "throughput": {**spread(throughput), "pairs": throughput},
            "efficiency": {**spread(efficiency), "pairs": efficiency},
        }
    return out


def broken(run: Run) -> bool:
    """A run whose figures mean nothing: requests failed, or none completed."""
    return (run.requests == 0 or run.cpu_us <= 0 or run.rps <= 0 or run.non2xx > 0
            or run.socket_errors > 0)
