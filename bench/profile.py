"""`python -m bench --profile S1`: where the data plane's worker spends its time.

Three views of the same load, one after the other:
- LuaJIT's sampling profiler (jit.p) by function, by line and by VM state,
  started inside the worker by `bench/lua/kongpy.lua` (the real module
  unchanged, wrapped);
- LuaJIT's trace log (jit.v): which code is compiled, which aborts and why;
- `perf record -e cpu-clock` of the worker, split by binary and symbol
  (nginx, the kernel, libluajit's interpreter, JIT-compiled code as [unknown]);
- `strace -c` of the worker: system calls per request, beside bare nginx's.
"""
from __future__ import annotations

import datetime
import logging
import re
import subprocess
import time
from pathlib import Path

from bench import procs, runner, servers, wrk
from bench.context import Context, Mode
from bench.scenarios import BY_NAME, builders

log = logging.getLogger(__name__)

LUA_DIR = Path(__file__).resolve().parent / "lua"
LUAJIT_SHARE = "/usr/share/luajit-2.1.0-beta3/?.lua"
# i1: a sample every millisecond (the default 10 ms gives too few per run)
JIT_P_MODES = (("functions", "Fi1"), ("lines", "li1"), ("VM states", "vi1"),
               ("call paths, 3 frames", "F3i1"))
TOP = 30


def _channel(ctx: Context, prefix: Path) -> Path:
    """The folder the worker reads its commands from and writes its output to.

    nginx's workers run as the unprivileged `user` of nginx.conf, which may
    read neither the node's prefix nor the run's private work directory: the
    work directory becomes traversable (not listable) and the channel, beside
    the prefix, writable by anyone.
    """
    chan = prefix.parent / "profile"
    chan.mkdir(exist_ok=True)
    chan.chmod(0o777)
    for folder in (ctx.workdir, prefix.parent):
        folder.chmod(folder.stat().st_mode | 0o111)
    return chan


def _command(chan: Path, text: str) -> None:
    tmp = chan / "profile.cmd.tmp"
    tmp.write_text(text + "\n")
    tmp.chmod(0o644)
    tmp.rename(chan / "profile.cmd")
    deadline = time.monotonic() + 5
    while (chan / "profile.cmd").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if (chan / "profile.cmd").exists():
        log.warning("the worker did not take the command %r", text)


def _tally(lines: list[str]) -> list[str]:
    """jit.v lines grouped by what they say (trace numbers dropped), most frequent first."""
    counts: dict[str, int] = {}
    for line in lines:
        key = re.sub(r"^\[TRACE\s+(\d+|---)", "[TRACE", line)
        counts[key] = counts.get(key, 0) + 1
    return [f"{n:6d}  {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def _under_load(ctx: Context, subject: runner.Subject, chan: Path, start: str,
                out: Path, seconds: float) -> str:
    _command(chan, start)
    wrk.run(ctx.workdir, subject.target.url, subject.load, seconds)
    _command(chan, "stop")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (out.exists() and out.stat().st_size):
        time.sleep(0.1)
    lines = out.read_text(errors="replace").splitlines() if out.exists() else []
    if start.startswith("trace"):
        lines = _tally(lines)
    return "\n".join(lines[:TOP * 3]) or "(no output)"


def _perf(ctx: Context, subject: runner.Subject, seconds: float) -> str:
    """The worker's CPU by binary, then by symbol, under the subject's load."""
    perf = procs.which("perf")
    if perf is None:
        return "perf is not installed"
    pid = subject.target.pids()[0]
    data = ctx.workdir / "perf.data"
    rec = subprocess.Popen([perf, "record", "-q", "-e", "cpu-clock", "-F", "999", "-g",
                            "-o", str(data), "-p", str(pid), "--", "sleep", str(seconds)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        wrk.run(ctx.workdir, subject.target.url, subject.load, seconds)
    finally:
        rec.wait(timeout=seconds + 30)
    parts = []
    for sort in ("dso", "dso,sym"):
        rep = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--no-children",
                              "-g", "none", "--sort", sort, "--percent-limit", "0.7"],
                             capture_output=True, text=True, timeout=120)
        parts.append("\n".join(line for line in rep.stdout.splitlines()
                               if line.strip() and not line.startswith("#"))[:6000])
    return "\n\n".join(parts)


def _syscalls(ctx: Context, subject: runner.Subject, seconds: float) -> str:
    """System calls the worker makes per request (strace -c), under the subject's load.

    strace slows the worker, so the counts matter here, not the times.
    """
    strace = procs.which("strace")
    if strace is None:
        return "strace is not installed"
    pid = subject.target.pids()[0]
    out = ctx.workdir / "strace.txt"
    rec = subprocess.Popen([strace, "-c", "-o", str(out), "-p", str(pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        time.sleep(0.5)
        res = wrk.run(ctx.workdir, subject.target.url, subject.load, seconds)
    finally:
        rec.terminate()
        rec.wait(timeout=30)
    rows = []
    for line in out.read_text(errors="replace").splitlines() if out.exists() else []:
        cols = line.split()
        if len(cols) >= 5 and cols[0][0].isdigit() and cols[-1] != "total":
            calls = int(cols[3])
            rows.append((calls, cols[-1]))
    rows.sort(reverse=True)
    n = max(1, res.requests)
    per_request = [f"{c / n:8.3f}  {name}" for c, name in rows if c / n >= 0.001]
    lines = [f"{res.requests} requests", *per_request]
    return "\n".join(lines)


def run(mode: Mode, scenario: str, out_dir: Path, workdir: Path) -> Path:
    sc = BY_NAME.get(scenario)
    if sc is None or sc.build is None:
        raise ValueError(f"cannot profile {scenario}: not a load scenario")
    upstream = servers.start_upstream(workdir)
    ctx = Context(workdir=workdir, mode=mode, upstream=upstream, builders=builders(),
                  node_extra={"lua_package_path": f"{LUA_DIR}/?.lua;{LUAJIT_SHARE}"})
    subject = ctx.subject(scenario)
    if not ctx.nodes:
        raise ValueError(f"cannot profile {scenario}: not a kongpy scenario")
    prefix = next(iter(ctx.nodes.values())).prefix
    chan = _channel(ctx, prefix)
    seconds = max(3.0, mode.duration)
    # the trace log covers the warm-up: what aborts and gets blacklisted does
    # so there, and a window taken later shows only the traces still forming
    out = chan / "jitv.txt"
    jitv = _under_load(ctx, subject, chan, f"trace {out}", out, 3)
    conf = (prefix / "nginx.conf").read_text(errors="replace").splitlines()
    sections = [("Lua handlers in the rendered nginx.conf",
                 "\n".join(line.strip() for line in conf if "by_lua" in line))]
    for title, flags in JIT_P_MODES:
        out = chan / f"jitp-{flags}.txt"
        text = _under_load(ctx, subject, chan, f"start {flags} {out}", out, seconds)
        sections.append((f"jit.p, {title} (mode {flags})", text))
    sections.append(("jit.v from a cold worker through 3 s of load, trace events by count",
                     jitv))
    sections.append((f"perf, {scenario} worker CPU by binary and by symbol",
                     _perf(ctx, subject, seconds)))
    sections.append((f"system calls per request, {scenario}", _syscalls(ctx, subject, seconds)))
    s0 = runner.Subject(servers.start_baseline(workdir, upstream, lua=False), ctx.load("/"))
    sections.append(("perf, S0 (bare nginx) worker, for comparison", _perf(ctx, s0, seconds)))
    sections.append(("system calls per request, S0", _syscalls(ctx, s0, seconds)))
    date = datetime.datetime.now().strftime("%Y-%m-%d")
    path = out_dir / f"{date}-profile-{scenario}.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Data-plane profile under {scenario} ({sc.title}), {date}\n\n"
                    + "".join(f"## {t}\n\n```\n{body}\n```\n\n" for t, body in sections))
    return path
