"""Load from wrk: generated Lua scripts, a bounded run, a JSON summary back."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import procs

log = logging.getLogger(__name__)

MARK = "BENCH_JSON "

# wrk calls done() once with the merged statistics of all threads.
_DONE = r"""
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
        .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,'
        .. '"mean_us":%.1f,"max_us":%d}\n',
        "BENCH_JSON ", summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50.0), latency:percentile(99.0), latency.mean, latency.max))
end
"""

# Requests come from a tab-separated file: path, Host (or -), header name and
# value (or -). They are formatted once per thread; request() picks one at random.
_FROM_FILE = r"""
local reqs, n = {}, 0
init = function(args)
    math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
    for line in io.lines("%s") do
        local path, host, hname, hvalue = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
        if path then
            local headers = {}
            if host ~= "-" then headers["Host"] = host end
            if hname ~= "-" then headers[hname] = hvalue end
            n = n + 1
            reqs[n] = wrk.format("GET", path, headers)
        end
    end
end
request = function()
    return reqs[math.random(n)]
end
"""


@dataclass
class Load:
    """What one wrk run sends: a path or a request file, a pace, a width."""

    path: str = "/"
    requests_file: Path | None = None
    connections: int = 64
    delay_ms: int = 0          # pause between responses and requests per connection


@dataclass
class Result:
    requests: int
    duration_s: float
    rps: float
    socket_errors: int
    non2xx: int
    timeouts: int
    p50_ms: float
    p99_ms: float
    raw: dict

    @classmethod
    def parse(cls, stdout: str) -> "Result":
        for line in stdout.splitlines():
            if line.startswith(MARK):
                d = json.loads(line[len(MARK):])
                duration = d["duration_us"] / 1e6
                return cls(
                    requests=d["requests"], duration_s=duration,
                    rps=d["requests"] / duration if duration else 0.0,
                    socket_errors=d["connect"] + d["read"] + d["write"],
                    non2xx=d["status"], timeouts=d["timeout"],
                    p50_ms=d["p50_us"] / 1000, p99_ms=d["p99_us"] / 1000, raw=d)
        raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")


def write_script(workdir: Path, load: Load) -> Path:
    body = ""
    if load.requests_file is not None:
        body += _FROM_FILE.replace("%s", str(load.requests_file))
    if load.delay_ms > 0:
        body += f"delay = function() return {int(load.delay_ms)} end\n"
    name = f"wrk-{abs(hash((str(load.requests_file), load.delay_ms))) % 10**8}.lua"
    script = workdir / name
    script.write_text(body + _DONE)
    return script


def write_requests(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """rows: (path, host or "-", header name or "-", header value or "-")."""
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


def run(workdir: Path, base_url: str, load: Load, duration: float) -> Result:
    """One bounded wrk run on LOAD_CPU; raises if it fails or overruns."""
    wrk = procs.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (scripts/setup.sh --dev)")
    script = write_script(workdir, load)
    secs = max(1, int(round(duration)))
    args = [*procs.pin_args(procs.LOAD_CPU), wrk, "-t1", f"-c{load.connections}",
            f"-d{secs}s", "--timeout", "5s", "--latency", "-s", str(script),
            base_url + load.path]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env=dict(os.environ))
    try:
        out, _ = proc.communicate(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError("wrk overran its time bound") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited {proc.returncode}:\n{out[-2000:]}")
    return Result.parse(out)
