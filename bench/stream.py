"""T1: a TCP echo through the stream proxy, kongpy against bare nginx.

- **T0**, the baseline: bare nginx, `stream { server { listen; proxy_pass
  <echo>; } }` (Debian's dynamic stream module), one worker on SUT_CPU.
- **T1**: a kongpy node with `stream_listen` and one `tcp` route matching the
  listener's port (`destinations`) to a `tcp` service for the echo server.

The echo server and the load client are `bench/tcpecho.c` (built here with
the system's cc), both on LOAD_CPU. The client keeps `connections` connections
busy, each doing `echoes_per_connection` request/response echoes of `size`
bytes before it closes and a new one opens, so the figure covers connection
set-up (routing, balancing) as well as relaying. CPU µs are per echo.

T1 needs the stream module (scripts/setup.sh builds it); without it the
scenario is reported as skipped.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import procs, servers, wrk
from bench.context import Context, Skipped
from bench.node import Node
from bench.runner import Subject

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("tcpecho.c")
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
MARK = "BENCH_JSON "


def _binary(workdir: Path) -> Path:
    out = workdir / "tcpecho"
    if not out.exists():
        cc = procs.which("cc") or procs.which("gcc")
        if cc is None:
            raise Skipped("no C compiler to build bench/tcpecho.c (apt-get install gcc)")
        subprocess.run([cc, "-O2", "-o", str(out), str(SOURCE)], check=True,
                       capture_output=True, timeout=120)
    return out


def _echo_port(ctx: Context) -> int:
    """The echo server, started once per invocation."""
    if "tcpecho" not in ctx.shared:
        port = procs.free_port()
        prefix = ctx.workdir / "tcpecho-server"
        prefix.mkdir(exist_ok=True)
        proc = procs.spawn([*procs.pin_args(procs.LOAD_CPU), str(_binary(ctx.workdir)),
                            "server", str(port)], log_path=prefix / "out.log")
        procs.managed(proc)
        procs.wait_port(port)
        ctx.shared["tcpecho"] = port
    return ctx.shared["tcpecho"]


@dataclass
class EchoLoad:
    """What one tcpecho client run sends (runner.measure calls `run`)."""

    binary: Path
    connections: int = 64
    echoes_per_connection: int = 100
    size: int = 64

    def run(self, workdir: Path, target: servers.Target, duration: float) -> wrk.Result:
        secs = max(1.0, float(duration))
        args = [*procs.pin_args(procs.LOAD_CPU), str(self.binary), "client", str(target.port),
                str(self.connections), str(self.echoes_per_connection), str(secs),
                str(self.size)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=secs + 30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RuntimeError("tcpecho client overran its time bound") from None
        for line in out.splitlines():
            if line.startswith(MARK):
                d = json.loads(line[len(MARK):])
                seconds = d["duration_us"] / 1e6
                # one echo is one "request" of the pair figures
                return wrk.Result(requests=d["echoes"], duration_s=seconds,
                                  rps=d["echoes"] / seconds if seconds else 0.0,
                                  socket_errors=d["errors"], non2xx=0, timeouts=0,
                                  p50_ms=d["p50_us"] / 1000, p99_ms=d["p99_us"] / 1000, raw=d)
        raise RuntimeError(f"tcpecho client printed no summary:\n{out[-2000:]}")


def baseline_conf(prefix: Path, port: int, echo: int) -> str:
    return (f"load_module {STREAM_MODULE};\n" + servers.nginx_main(prefix, procs.SUT_CPU)
            + "stream {\n    server {\n"
            + f"        listen 127.0.0.1:{port} backlog=4096;\n"
            + f"        proxy_pass 127.0.0.1:{echo};\n    }}\n}}\n")


def _load(ctx: Context) -> EchoLoad:
    return EchoLoad(_binary(ctx.workdir), connections=ctx.mode.connections)


def t0(ctx: Context) -> Subject:
    if not os.path.isfile(STREAM_MODULE):
        raise Skipped(f"{STREAM_MODULE} is missing (apt-get install libnginx-mod-stream)")
    echo = _echo_port(ctx)
    port = procs.free_port()
    target = servers.start_nginx("T0", ctx.workdir,
                                 baseline_conf(ctx.workdir / "T0", port, echo), port)
    return Subject(target, _load(ctx))


def t1(ctx: Context) -> Subject:
    from kongpy import paths

    module = paths.stream_module()
    if not module.is_file():
        raise Skipped(f"the stream module {module} is not built (scripts/setup.sh)")
    echo = _echo_port(ctx)
    port = procs.free_port()

    def configure(node: Node) -> None:
        node.call("POST", "/services", {"name": "echo", "host": "127.0.0.1", "port": echo,
                                        "protocol": "tcp"})
        node.call("POST", "/services/echo/routes", {"name": "t1", "protocols": ["tcp"],
                                                    "destinations": [{"port": port}]})
    node = ctx.node("stream", configure,
                    extra={"stream_listen": f"127.0.0.1:{port} reuseport backlog=4096"})
    procs.wait_port(port)
    target = servers.Target("T1", port, node.worker_pids)
    return Subject(target, _load(ctx))
