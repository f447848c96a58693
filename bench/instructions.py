"""`python -m bench.instructions S0,S0H,S1,S7`: user-space instructions per request.

CPU time per request moves by ±15% from one run to the next on these shared
machines, so a change worth 2% takes many interleaved pairs to see. This
counts instead: each subject's nginx runs once more, as a single process
under valgrind's callgrind, from a copy of the prefix the suite built and
configured (same nginx.conf, same snapshot, same Lua code, same upstream);
after a warm-up that lets LuaJIT compile its traces, callgrind's counters
are zeroed, a fixed number of requests is sent over one keep-alive
connection, and the instructions the process executed are divided by them.

The figure is exact and repeatable (two runs of the same tree agree within
a few tenths of a percent) and covers everything the worker does in user
space for a request: nginx, the Lua module, LuaJIT's compiled code and
runtime, libc, OpenSSL. It leaves out the kernel (the system calls are the
same per request for every subject; `bench --profile` lists them) and says
nothing of cache misses: a ratio of instructions is not a ratio of time.
Use it to see what a change to the data plane costs or saves; the suite's
CPU-time ratios stay the figures the targets are judged by.

A subject whose load sends requests from a file (several paths, hosts,
credentials) gets them in the file's order, round after round.
"""
from __future__ import annotations

import argparse
import os
import http.client
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench import procs, report, runner, servers
from bench.context import QUICK, Context
from bench.scenarios import BY_NAME, builders

log = logging.getLogger(__name__)

WARMUP = 3000
REQUESTS = 2000
# the counts of a subject are compared with these, when they were measured too
BASELINES = ("S0", "S0H")
_STRIP = re.compile(r"^\s*(user|worker_cpu_affinity|daemon|master_process)\s[^;]*;\s*$", re.M)
# the frames every request runs under: their share says nothing
_FRAME = {"main", "ngx_single_process_cycle", "ngx_process_events_and_timers"}
_TEXT_SUFFIXES = {".conf", ".json", ".jsonl", ".lua", ".txt", ""}


@dataclass
class Count:
    name: str
    per_request: int
    statuses: dict[int, int]
    dump: Path


def _master(pids: list[int]) -> tuple[Path, Path]:
    """The prefix and nginx.conf of the nginx whose worker is pids[0]."""
    ppid = int(Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
    # nginx rewrites its master's command line into one string
    args = Path(f"/proc/{ppid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
    opts = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i] in ("-p", "-c")}
    prefix = Path(opts["-p"])
    conf = Path(opts.get("-c", "conf/nginx.conf"))
    return prefix, conf if conf.is_absolute() else prefix / conf


def _copy(prefix: Path, conf: Path, port: int, dest: Path) -> Path:
    """A copy of the prefix listening on `port` instead of the subject's own
    port; every path naming the old prefix names the copy. Returns its conf."""
    shutil.copytree(prefix, dest, ignore=shutil.ignore_patterns("*.sock", "*.pid"))
    old, new = str(prefix).rstrip("/"), str(dest)
    for path in dest.rglob("*"):
        if path.is_file() and path.suffix in _TEXT_SUFFIXES and path.stat().st_size < 50 << 20:
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if old in text:
                path.write_text(text.replace(old, new))
    copy = dest / conf.relative_to(prefix) if conf.is_relative_to(prefix) else dest / conf.name
    if not copy.exists():
        copy.write_text(conf.read_text().replace(old, new))
    return copy


def _listen_on(conf: Path, old_port: int, port: int) -> None:
    text = _STRIP.sub("", conf.read_text())
    text, n = re.subn(rf"(listen\s+127\.0\.0\.1:){old_port}\b", rf"\g<1>{port}", text, count=1)
    if n != 1:
        raise ValueError(f"{conf}: no plain `listen 127.0.0.1:{old_port}` to move")
    conf.write_text(text)


def _requests(load) -> list[tuple[str, dict[str, str]]]:
    if load.requests_file is None:
        return [(load.path, {})]
    out = []
    for line in Path(load.requests_file).read_text().splitlines():
        cols = line.split("\t")
        if len(cols) != 4:
            continue
        path, host, hname, hvalue = cols
        headers = {}
        if host != "-":
            headers["Host"] = host
        if hname != "-":
            headers[hname] = hvalue
        out.append((path, headers))
    return out or [(load.path, {})]


def _send(port: int, reqs: list[tuple[str, dict[str, str]]], n: int,
          statuses: dict[int, int] | None = None) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(n):
            path, headers = reqs[i % len(reqs)]
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if statuses is not None:
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    finally:
        conn.close()


def _wait_up(port: int, path: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("nginx under valgrind exited before serving")
        try:
            _send(port, [(path, {})], 1)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("nginx under valgrind did not answer in time")


def count(name: str, conf: Path, port: int, reqs: list[tuple[str, dict[str, str]]],
          out_dir: Path, warmup: int = WARMUP, n: int = REQUESTS) -> Count:
    valgrind, ctl, nginx = (procs.which(x) for x in ("valgrind", "callgrind_control", "nginx"))
    if not (valgrind and ctl and nginx):
        raise RuntimeError("valgrind is not installed (scripts/setup.sh --dev)")
    prefix = conf.parent
    log.info("%s: %d requests of warm-up, %d counted, under callgrind", name, warmup, n)
    dump = out_dir / f"callgrind.{name}"
    log_file = out_dir / f"valgrind.{name}.log"
    with log_file.open("wb") as vlog:
        proc = subprocess.Popen(
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={dump}.%p",
             "--dump-instr=no", nginx, "-p", str(prefix), "-c", str(conf),
             "-g", "daemon off; master_process off;"],
            stdout=vlog, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_up(port, reqs[0][0], proc)
        _send(port, reqs, warmup)
        subprocess.run([ctl, "-z", str(proc.pid)], check=True, capture_output=True)
        statuses: dict[int, int] = {}
        _send(port, reqs, n, statuses)
        subprocess.run([ctl, "-d", "measured", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    dumps = sorted(out_dir.glob(f"callgrind.{name}.{proc.pid}.*"))
    if not dumps:
        raise RuntimeError(f"{name}: callgrind wrote no dump ({log_file})")
    total = None
    for line in dumps[0].read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
            break
    if total is None:
        raise RuntimeError(f"{name}: no totals in {dumps[0]}")
    final = out_dir / f"callgrind.{name}.out"
    dumps[0].rename(final)
    for extra in out_dir.glob(f"callgrind.{name}.{proc.pid}*"):
        extra.unlink()
    return Count(name, total // n, statuses, final)


def top_functions(dump: Path, n_requests: int, limit: int = 25) -> list[str]:
    """The functions with the most inclusive instructions per request."""
    ann = procs.which("callgrind_annotate")
    if ann is None:
        return []
    out = subprocess.run([ann, "--inclusive=yes", "--threshold=100", str(dump)],
                         capture_output=True, text=True, timeout=300).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)\s*(\[.*\])?", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        fn = m.group(2).replace("???:", "")
        if fn.startswith("0x") or fn in _FRAME or "libc-start" in fn or "below" in line:
            continue
        lib = (m.group(3) or "").rstrip("]").rsplit("/", 1)[-1]
        rows.append(f"{int(m.group(1).replace(',', '')) // n_requests:8d}  {fn}  {lib}")
        if len(rows) >= limit:
            break
    return rows


def run(names: list[str], out_dir: Path, workdir: Path, n: int = REQUESTS,
        warmup: int = WARMUP) -> Path:
    upstream = servers.start_upstream(workdir)
    ctx = Context(workdir=workdir, mode=QUICK, upstream=upstream, builders=builders())
    if "S0" in names:
        ctx.subjects["S0"] = runner.Subject(servers.start_baseline(workdir, upstream, lua=False),
                                            ctx.load("/"))
    jobs = {}
    for name in names:
        sub = ctx.subject(name)
        if sub.target.url.startswith("https"):
            log.warning("%s: not plain HTTP, not counted", name)
            continue
        prefix, conf = _master(sub.target.pids())
        port = procs.free_port()
        copy = _copy(prefix, conf, port, workdir / "counted" / name)
        _listen_on(copy, sub.target.port, port)
        jobs[name] = (copy, port, _requests(sub.load))
    # one valgrind per core: the counts do not depend on what else runs
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(count, name, copy, port, reqs, workdir, warmup, n)
                   for name, (copy, port, reqs) in jobs.items()}
        counts = {name: f.result() for name, f in futures.items()}
    lines = [f"# Instructions per request, {time.strftime('%Y-%m-%d')}", "",
             f"User-space instructions of the one nginx process per request (callgrind, "
             f"{warmup} requests of warm-up, then {n} counted; bench/instructions.py). "
             f"kongpy {report.versions()['kongpy']}.", "",
             "| subject | instructions / request | statuses | vs S0 | vs S0H | vs its baseline |",
             "|---|---|---|---|---|---|"]
    for name, c in counts.items():
        base = BY_NAME[name].baseline if name in BY_NAME else None
        cells = []
        for b in (*BASELINES, base):
            cells.append(f"{counts[b].per_request / c.per_request:.3f}"
                         if b in counts and b != name else "–")
        st = ", ".join(f"{k}: {v}" for k, v in sorted(c.statuses.items()))
        lines.append(f"| {name} | {c.per_request:,} | {st} | " + " | ".join(cells) + " |")
    for name, c in counts.items():
        lines += ["", f"## {name}: functions by inclusive instructions per request", "", "```",
                  *top_functions(c.dump, n), "```"]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{time.strftime('%Y-%m-%d')}-instructions-{'-'.join(counts)}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("subjects", help="comma-separated subjects, e.g. S0,S0H,S1,S7")
    p.add_argument("--requests", type=int, default=REQUESTS, help="requests counted")
    p.add_argument("--warmup", type=int, default=WARMUP,
                   help="requests before the count (LuaJIT compiles its traces)")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    names = [s.strip() for s in args.subjects.split(",") if s.strip()]
    known = set(builders()) | {"S0"}
    unknown = [s for s in names if s not in known]
    if unknown or not names or args.requests < 1 or args.warmup < 0:
        what = f"no subject named {', '.join(unknown)}" if unknown else "nothing to count"
        print(f"Error: {what}", file=sys.stderr)
        return 2
    if procs.which("valgrind") is None:
        print("Error: valgrind is not installed (scripts/setup.sh --dev)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="kongpy-ir-"))
    try:
        path = run(names, args.out, workdir, args.requests, args.warmup)
    finally:
        procs.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
