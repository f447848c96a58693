"""One invocation: start the shared servers, run the chosen scenarios, report."""
from __future__ import annotations

import datetime
import logging
import os
import time
from pathlib import Path
from typing import Any

from bench import procs, report, runner, servers
from bench.context import Context, Mode, Skipped
from bench.scenarios import BY_NAME, SCENARIOS, Scenario, builders

log = logging.getLogger(__name__)

DEFAULT = [s.name for s in SCENARIOS]


def _uses(sc: Scenario) -> set[str]:
    return {sc.name, sc.baseline, *sc.nodes}


def _run_pair(ctx: Context, sc: Scenario) -> dict[str, Any]:
    base = ctx.subject(sc.baseline)
    subj = ctx.subject(sc.name)
    res = runner.interleave(ctx.workdir, base, subj, ctx.mode.pairs, ctx.mode.duration,
                            ctx.mode.warmup)
    res.update(kind="pair", status="ok", baseline_name=sc.baseline)
    if sc.extra is not None:
        res["extra"] = sc.extra(ctx, res)
    return res


def run_one(ctx: Context, sc: Scenario) -> dict[str, Any]:
    kind = "change" if sc.change is not None else "pair"
    log.info("%s: %s", sc.name, sc.title)
    started = time.monotonic()
    try:
        if sc.change is not None:
            res = {"kind": kind, "status": "ok", **sc.change(ctx)}
        else:
            res = _run_pair(ctx, sc)
    except Skipped as exc:
        log.info("%s skipped: %s", sc.name, exc)
        res = {"kind": kind, "status": "skipped", "reason": str(exc)}
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        log.exception("%s failed", sc.name)
        res = {"kind": kind, "status": "failed", "reason": str(exc)[:500]}
    res.update(title=sc.title, targets=sc.targets,
               elapsed_s=round(time.monotonic() - started, 1))
    return res


def run(mode: Mode, names: list[str], out_dir: Path, workdir: Path) -> tuple[Path, Path]:
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; "
                         f"known: {', '.join(DEFAULT)}")
    started = time.monotonic()
    machine = procs.machine()
    upstream = servers.start_upstream(workdir)
    s0 = servers.start_baseline(workdir, upstream, lua=False)
    ctx = Context(workdir=workdir, mode=mode, upstream=upstream, builders=builders())
    ctx.subjects["S0"] = runner.Subject(s0, ctx.load("/"))
    plan = [BY_NAME[n] for n in names]
    for i, sc in enumerate(plan):
        ctx.results[sc.name] = run_one(ctx, sc)
        keep = set().union(*(_uses(later) for later in plan[i + 1:])) if i + 1 < len(plan) \
            else set()
        ctx.release(keep | {"S0"})
    doc = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d"),
        "mode": mode.name,
        "complete": names == DEFAULT,
        "machine": machine,
        "loadavg_end": list(os.getloadavg()),
        "versions": report.versions(),
        "settings": {"pairs": mode.pairs, "duration_s": mode.duration,
                     "warmup_s": mode.warmup, "connections": mode.connections,
                     "routes": mode.routes, "consumers": mode.consumers,
                     "change_seconds": mode.change_seconds,
                     "revocations": mode.revocations, "scenarios": names},
        "elapsed_s": time.monotonic() - started,
        "scenarios": ctx.results,
    }
    return report.write(doc, out_dir)
