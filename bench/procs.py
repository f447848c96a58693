"""Processes the suite starts, and what it reads about them from /proc.

Every child runs in its own session (process group) and is registered here, so
`stop_all` can end it and everything it spawned, on success, error or Ctrl-C.
"""
from __future__ import annotations

import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

CLK_TCK = os.sysconf("SC_CLK_TCK")
SUT_CPU = 0        # the system under test's worker
LOAD_CPU = 1       # wrk, the upstream, the control plane, the peers' helpers

_children: list[subprocess.Popen] = []
_cleanups: list[Callable[[], None]] = []


def which(name: str) -> str | None:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def pin_args(cpu: int) -> list[str]:
    """A `taskset` prefix, or nothing on a single-core machine."""
    if os.cpu_count() and os.cpu_count() > 1 and which("taskset"):
        return ["taskset", "-c", str(cpu)]
    return []


def spawn(args: list[str], *, log_path: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen:
    """Starts a long-running child in its own process group."""
    out = open(log_path, "ab")
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, env=env, cwd=cwd)
    finally:
        out.close()
    _children.append(proc)
    log.debug("started %s (pid %d)", args[0], proc.pid)
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Signals the child's process group, then kills it if it lingers."""
    if proc.poll() is None:
        _killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    else:
        _killpg(proc.pid, signal.SIGKILL)   # leftovers of an exited leader
    if proc in _children:
        _children.remove(proc)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def on_exit(fn: Callable[[], None]) -> Callable[[], None]:
    """Registers a cleanup that `stop_all` runs (last registered first)."""
    _cleanups.append(fn)
    return fn


def forget(fn: Callable[[], None]) -> None:
    if fn in _cleanups:
        _cleanups.remove(fn)


def managed(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> Callable[[], None]:
    """Registers `proc` for cleanup; returns a function that stops it now."""
    def _stop() -> None:
        forget(_stop)
        stop(proc, sig)
    return on_exit(_stop)


def stop_all() -> None:
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # noqa: BLE001 - cleanup must go on
            log.exception("cleanup failed")
    for proc in list(reversed(_children)):
        stop(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# -- /proc -------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        pass
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                found.append(int(entry))
    return found


def machine() -> dict[str, object]:
    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "loadavg": list(os.getloadavg()),
    }
