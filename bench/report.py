"""The run's JSON document and its Markdown rendering."""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from bench import procs

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def _first_line(args: list[str]) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if text else "not available"


def versions() -> dict[str, str]:
    out = {"nginx": _first_line([procs.which("nginx") or "nginx", "-v"]),
           "wrk": _first_line([procs.which("wrk") or "wrk", "-v"]).split(" Copyright")[0]}
    for name, args in (("caddy", ["version"]), ("haproxy", ["-v"])):
        binary = procs.which(name)
        line = _first_line([binary, *args]) if binary else "not installed"
        out[name] = line if line.lower().startswith(name) else f"{name} {line}"
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    try:
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "kongpy", "lua", "templates", "plugins"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    out["kongpy"] = commit + (" + uncommitted changes" if dirty else "")
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _range(d: dict[str, float], digits: int = 1) -> str:
    return f"{_fmt(d['median'], digits)} ({_fmt(d['min'], digits)}–{_fmt(d['max'], digits)})"


def _target(res: dict[str, Any]) -> str:
    targets = res.get("targets") or {}
    if not targets:
        return "–"
    goals = ", ".join(f"{k} {v:g}" for k, v in targets.items())
    if res.get("failed"):
        return f"{goals}: **FAILED** ({'; '.join(res['failed'])})"
    return f"{goals}: met"


_PAIR_HEAD = ("| scenario | vs | RPS median (min–max) | CPU µs/req median (min–max) | "
              "baseline CPU µs/req | p50 / p99 ms | non-2xx | socket err | RSS MiB | "
              "throughput ratio | efficiency ratio | vs S0H | header work / rest µs | "
              "target |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def _split(res: dict[str, Any]) -> str:
    split = res.get("split_us")
    return f"{_fmt(split['headers'])} / {_fmt(split['lua'])}" if split else "–"


def _pair_row(name: str, res: dict[str, Any]) -> str:
    s, b, r = res["subject"], res["baseline"], res["ratios"]
    vs_h = _fmt(r["vs_S0H"]["median"], 3) if "vs_S0H" in r else "–"
    return (f"| **{name}** | {res['baseline_name']} | {_range(s['rps'], 0)} | "
            f"{_range(s['cpu_us_per_req'])} | {_fmt(b['cpu_us_per_req']['median'])} | "
            f"{_fmt(s['p50_ms']['median'], 2)} / {_fmt(s['p99_ms']['median'], 2)} | "
            f"{s['non2xx']} | {s['socket_errors']} | {s['rss_kib'] / 1024:.1f} | "
            f"{_range(r['throughput'], 3)} | {_range(r['efficiency'], 3)} | {vs_h} | "
            f"{_split(res)} | {_target(res)} |\n")


def _change_rows(results: dict[str, Any]) -> str:
    out = ("| scenario | changes | p50 s | p99 s | max s | missed | load RPS (target) | "
           "non-2xx | socket err | reloads | workers replaced |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n")
    for name, res in results.items():
        if res.get("kind") == "change" and res["status"] == "ok":
            out += (f"| **{name}** | {res['changes']} | {_fmt(res['p50_s'], 3)} | "
                    f"{_fmt(res['p99_s'], 3)} | {_fmt(res['max_s'], 3)} | {res['missed']} | "
                    f"{_fmt(res['load_rps'], 0)} ({_fmt(res['load_target_rps'], 0)}) | "
                    f"{res['non2xx']} | {res['socket_errors']} | {res['reloads']} | "
                    f"{'yes' if res['workers_replaced'] else 'no'} |\n")
    return out


def _config_rows(results: dict[str, Any]) -> str:
    out = ("| scenario | credentials | snapshot MiB | load s | reload CPU s | RSS MiB | "
           "request | targets |\n|---|---|---|---|---|---|---|---|\n")
    rows = ""
    for name, res in results.items():
        if res.get("kind") == "config" and res["status"] == "ok":
            goals = res.get("targets", {})
            met = "; ".join(f"{k} ≤ {g}: {'met' if res[k] <= g else 'NOT met'}"
                            for k, g in goals.items() if res.get(k) is not None)
            rows += (f"| **{name}** | {res['credentials']} | {_fmt(res['snapshot_mib'])} | "
                     f"{_fmt(res['load_s'], 2)} | {_fmt(res['reload_cpu_s'], 2)} | "
                     f"{_fmt(res['rss_mib'])} | {res['request_status']} | {met or '–'} |\n")
    return out + rows if rows else "not run\n"


def _grpc_rows(results: dict[str, Any]) -> str:
    out = ("| scenario | direct calls/s | gateway calls/s | direct p50 / p99 ms | "
           "gateway p50 / p99 ms | gateway worker CPU µs/call | errors | throughput ratio |\n"
           "|---|---|---|---|---|---|---|---|\n")
    rows = ""
    for name, res in results.items():
        if res.get("kind") == "grpc" and res["status"] == "ok":
            d, g = res["direct"], res["gateway"]
            rows += (f"| **{name}** | {_range(d['rps'], 0)} | {_range(g['rps'], 0)} | "
                     f"{_fmt(d['p50_ms']['median'], 2)} / {_fmt(d['p99_ms']['median'], 2)} | "
                     f"{_fmt(g['p50_ms']['median'], 2)} / {_fmt(g['p99_ms']['median'], 2)} | "
                     f"{_range(g['worker_cpu_us_per_call'])} | {res['errors']} | "
                     f"{_range(res['ratios']['throughput'], 3)} |\n")
    return out + rows if rows else "not run\n"


def _dbless_rows(results: dict[str, Any]) -> str:
    out = ("| scenario | routes / consumers | document MiB | POST answered s | served s | "
           "node RSS MiB before / peak | load RPS (target) | non-2xx | socket err | "
           "reloads |\n|---|---|---|---|---|---|---|---|---|---|\n")
    rows = ""
    for name, res in results.items():
        if res.get("kind") == "dbless" and res["status"] == "ok":
            rows += (f"| **{name}** | {res['routes']} / {res['consumers']} | "
                     f"{_fmt(res['document_mib'])} | {_fmt(res['post_s'], 2)} | "
                     f"{_fmt(res['served_s'], 2)} | {_fmt(res['rss_before_mib'])} / "
                     f"{_fmt(res['rss_peak_mib'])} | {_fmt(res['load_rps'], 0)} "
                     f"({_fmt(res['load_target_rps'], 0)}) | {res['non2xx']} | "
                     f"{res['socket_errors']} | {res['reloads']} |\n")
    return out + rows if rows else "not run\n"


def _metrics_rows(results: dict[str, Any]) -> str:
    out = ("| scenario | routes | switches | Status API scrape ms median (max) | samples | "
           "KiB | Admin API scrape ms median (max) | + latency_metrics: scrape ms median, "
           "samples | target |\n|---|---|---|---|---|---|---|---|---|\n")
    rows = ""
    for name, res in results.items():
        if res.get("kind") == "metrics" and res["status"] == "ok":
            st, ad, lat = res["status_api"], res["admin_api"], res["with_latency"]["status_api"]
            met = "met" if st["median_ms"] <= res["target_ms"] else "NOT met"
            rows += (f"| **{name}** | {res['routes']} | {res['switches']} | "
                     f"{_fmt(st['median_ms'])} ({_fmt(st['max_ms'])}) | {st['samples']} | "
                     f"{_fmt(st['kib'], 0)} | {_fmt(ad['median_ms'])} ({_fmt(ad['max_ms'])}) | "
                     f"{_fmt(lat['median_ms'])}, {lat['samples']} | "
                     f"< {_fmt(res['target_ms'], 0)} ms: {met} |\n")
    return out + rows if rows else "not run\n"


def _router_lines(results: dict[str, Any]) -> str:
    lines = []
    for name, res in results.items():
        extra = res.get("extra") if res.get("status") == "ok" else None
        if not extra or "push_build_s" not in extra:
            continue
        lines.append(
            f"- **{name}**: {extra['routes']} routes, throughput ratio "
            f"{res['ratios']['throughput']['median']:.3f} vs {res['baseline_name']}; "
            f"router build (push of the served snapshot, one worker) "
            f"{_fmt(extra['push_build_s'], 3)} s "
            f"(1 route: {_fmt(extra['push_build_1_route_s'], 3)} s); "
            f"route change → all workers {extra['change_to_all_workers_s']:.3f} s; "
            f"worker RSS {_fmt(extra['rss_kib_per_1000_routes'], 0)} KiB per 1,000 routes; "
            f"Lua heap {extra['lua_gc_bytes_many_routes'] / 2**20:.1f} MiB "
            f"(1 route: {extra['lua_gc_bytes_1_route'] / 2**20:.1f} MiB); "
            f"snapshot {extra['snapshot_bytes'] / 2**20:.1f} MiB.")
    return "\n".join(lines) + ("\n" if lines else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _load(values: list[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def markdown(doc: dict[str, Any]) -> str:
    m, s, v = doc["machine"], doc["settings"], doc["versions"]
    head = (f"# kongpy benchmark: {doc['date']}, {doc['mode']} mode\n\n"
            f"- CPU: {m['cpu_model']}, {m['cores']} cores; kernel {m['kernel']}\n"
            f"- load average (1/5/15 min) at start {_load(m['loadavg'])}, "
            f"at end {_load(doc['loadavg_end'])}\n"
            f"- {v['nginx']}; {v['caddy']}; {v['haproxy']}; {v['wrk']}; kongpy {v['kongpy']}\n"
            f"- each scenario: {s['pairs']} interleaved pairs (baseline, scenario) of "
            f"{s['duration_s']:.0f} s, wrk -t1 -c{s['connections']}; system under test: "
            "1 worker pinned to CPU 0; wrk, upstream and control plane on CPU 1\n"
            f"- R2: {s['routes']} routes; S3: {s['consumers']} consumers; "
            f"run took {doc['elapsed_s']:.0f} s\n"
            + "".join(f"- note: {n}\n" for n in doc.get("notes", [])) + "\n")
    results = doc["scenarios"]
    body = "## Cost per request\n\n" + _PAIR_HEAD
    for name, res in results.items():
        if res.get("kind") == "pair" and res["status"] == "ok":
            body += _pair_row(name, res)
    body += "\n## Router scale\n\n" + (_router_lines(results) or "not run\n")
    body += "\n## gRPC (one call in flight)\n\n" + _grpc_rows(results)
    body += "\n## Change under load\n\n" + _change_rows(results)
    body += "\n## DB-less swap (POST /config)\n\n" + _dbless_rows(results)
    body += "\n## Large configurations (K1)\n\n" + _config_rows(results)
    body += "\n## Metrics scrape\n\n" + _metrics_rows(results)
    failed = [f"- {n}: {'; '.join(r['failed'])}" for n, r in results.items() if r.get("failed")]
    failed += [f"- {n}: {_one_line(r.get('reason', ''))}"
               for n, r in results.items() if r["status"] == "failed"]
    body += "\n## Failed\n\n" + ("\n".join(failed) + "\n" if failed else "none\n")
    others = [f"- {n}: {r['status']}: {_one_line(r.get('reason', ''))}"
              for n, r in results.items() if r["status"] not in ("ok", "failed")]
    if others:
        body += "\n## Not measured\n\n" + "\n".join(others) + "\n"
    return head + body


def stem(doc: dict[str, Any], out_dir: Path) -> str:
    """The results' file name: a partial run (--only) never takes the whole
    suite's, and no run takes an earlier one's (bench/README.md cites them)."""
    names = doc["settings"]["scenarios"]
    partial = "" if doc.get("complete") else "-only-" + "-".join(names)[:60]
    base = f"{doc['date']}-{doc['mode']}{partial}"
    found, n = base, 1
    while (out_dir / f"{found}.json").exists() or (out_dir / f"{found}.md").exists():
        n += 1
        found = f"{base}-{n}"
    return found


def write(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    name = stem(doc, out_dir)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    md_path.write_text(markdown(doc))
    return json_path, md_path
