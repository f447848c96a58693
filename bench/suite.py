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
    if "ratios" not in res:
        b, s = res["baseline"], res["subject"]
        res.update(status="failed", reason=(
            f"every pair broken: {sc.baseline} non-2xx {b['non2xx']}, socket errors "
            f"{b['socket_errors']}, requests {b['requests']}; {sc.name} non-2xx "
            f"{s['non2xx']}, socket errors {s['socket_errors']}, requests {s['requests']}"))
        return res
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


def _against_headers(results: dict[str, Any]) -> None:
    """Scenarios measured against S0, restated against S0H (bare nginx doing
    kongpy's header work) from the same run, and their cost split into that
    header work and the rest (kongpy's Lua):
    cost(X) / cost(S0H) = eff(X vs S0) / eff(S0H vs S0)."""
    s0h = results.get("S0H")
    if not s0h or s0h.get("status") != "ok":
        return
    h = s0h["ratios"]["efficiency"]["median"]
    for name, res in results.items():
        if name.startswith("S0") or res.get("status") != "ok" or res.get("baseline_name") != "S0":
            continue
        e = res["ratios"]["efficiency"]["median"]
        s0_us = res["baseline"]["cpu_us_per_req"]["median"]
        res["ratios"]["vs_S0H"] = {"median": e / h, "min": e / h, "max": e / h}
        res["split_us"] = {"headers": s0_us * (1 / h - 1), "lua": s0_us * (1 / e - 1 / h)}


# Upper bounds named by a scenario's targets, and where its result holds them
# (keys not listed here are looked up at the top of the result, then in `extra`).
_UPPER = {"push_build_s": ("extra", "push_build_s"), "scrape_ms": ("status_api", "median_ms"),
          "propagation_p99_s": ("p99_s",), "revocation_p99_s": ("p99_s",)}


def _measured(res: dict[str, Any], key: str) -> float | None:
    if key in res.get("ratios", {}):
        return res["ratios"][key]["median"]
    path = _UPPER.get(key)
    node: Any = res
    for part in path or (key,):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and path is None:
        node = (res.get("extra") or {}).get(key)
    return node if isinstance(node, (int, float)) else None


def _judge(results: dict[str, Any]) -> None:
    """Every target checked: a ratio is a lower bound, any other figure an upper
    bound. A miss, or a target whose figure is missing, is listed in `failed`."""
    for res in results.values():
        if res.get("status") != "ok":
            continue
        failed = []
        for key, goal in (res.get("targets") or {}).items():
            if key == "vs_S0H" and "S0H" not in results:
                continue  # a partial run without the header baseline
            got = _measured(res, key)
            lower = key in res.get("ratios", {}) or key in ("efficiency", "throughput", "vs_S0H")
            if got is None:
                failed.append(f"{key}: not measured")
            elif (got < goal) if lower else (got > goal):
                failed.append(f"{key} {got:.3f} {'<' if lower else '>'} {goal:g}")
        if failed:
            res["failed"] = failed


def run(mode: Mode, names: list[str], out_dir: Path, workdir: Path,
        notes: list[str] | None = None) -> tuple[Path, Path]:
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
    _against_headers(ctx.results)
    _judge(ctx.results)
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
        "notes": notes or [],
        "scenarios": ctx.results,
    }
    return report.write(doc, out_dir)
