"""Starting and stopping a node's supervisor, shared by start/stop/quit/restart."""
from __future__ import annotations

import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from kongpy import guiconf, paths
from kongpy.conf import Config
from kongpy.supervisor import pidfile
from kongpy.supervisor.daemon import STOP_TIMEOUT_FILE
from kongpy.supervisor.process import children_of
from kongpy.sync.push import ControlClient, DataPlaneError

_POLL = 0.1
_LOG_TAIL = 20


def error_log(config: Config) -> Path:
    value = config["proxy_error_log"] or "logs/error.log"
    return Path(value if os.path.isabs(value) else os.path.join(config["prefix"], value))


def log_tail(config: Config, lines: int = _LOG_TAIL) -> str:
    try:
        text = error_log(config).read_text(errors="replace")
    except OSError:
        return ""
    tail = text.splitlines()[-lines:]
    return ("\n  " + "\n  ".join(tail)) if tail else ""


def _bind_error(host: str, port: int, udp: bool = False) -> OSError | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc
    return None


def check_ports(config: Config) -> None:
    names = ["proxy_listen", "admin_listen", "status_listen", "stream_listen"]
    if guiconf.served(config):
        names.append("admin_gui_listen")
    for name in names:
        for listener in config[name]:
            exc = _bind_error(listener["host"], listener["port"], bool(listener.get("udp")))
            if exc is None:
                continue
            reason = "address already in use" if exc.errno == errno.EADDRINUSE \
                else (exc.strerror or str(exc)).lower()
            raise click.ClickException(f"{name} {listener['address']}: {reason}")


def save_env(config: Config) -> None:
    """The conf the supervisor and the Admin API read: written whole, owner-only."""
    layout = paths.prefix(config["prefix"])
    tmp = layout.root / f".kongpy_env.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(config.dump())
    os.replace(tmp, layout.env_file)


def spawn_supervisor(config: Config) -> int:
    """Starts the detached supervisor; returns its pid."""
    root = paths.prefix(config["prefix"])
    pid_file = root.pid_file("supervisor")
    pidfile.remove(pid_file)
    env = dict(os.environ)
    # The supervisor runs with the prefix as cwd: keep a checkout importable
    # (an installed kongpy is on the interpreter's own path).
    checkout = paths.checkout_root()
    if checkout is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(checkout)] + [p for p in [env.get("PYTHONPATH")] if p])
    log_path = error_log(config)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kongpy.supervisor", "-p", str(root.root), "--daemon"],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file, close_fds=True,
            cwd=str(root.root), env=env)
        proc.wait()
    pid = pidfile.read(pid_file)
    if proc.returncode != 0 or pid is None:
        raise click.ClickException(f"could not start the supervisor{log_tail(config)}")
    return pid


def _connect_host(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}.get(host, host)


def _http_answers(host: str, port: int) -> bool:
    conn = http.client.HTTPConnection(_connect_host(host), port, timeout=2)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_connect_host(host), port), timeout=2):
            return True
    except OSError:
        return False


def listeners(config: Config) -> str:
    """Where the node serves, as the operator needs to read it."""
    def addresses(name: str) -> str:
        found = [f"{li['address']}{' (ssl)' if li['ssl'] else ''}" for li in config[name]]
        return ", ".join(found) or "off"
    streams = f"; stream proxy on {addresses('stream_listen')}" if config["stream_listen"] else ""
    status = f"; Status API on {addresses('status_listen')}" if config["status_listen"] else ""
    gui = f"; GUI on {addresses('admin_gui_listen')}" if guiconf.served(config) else ""
    return (f"proxy on {addresses('proxy_listen')}{streams}; "
            f"Admin API on {addresses('admin_listen')}{status}{gui}")


def _readiness(config: Config) -> dict[str, bool]:
    state: dict[str, bool] = {}
    proxies = config["proxy_listen"]
    if proxies:
        # a connection, not a request: nothing lands in the proxy's access log
        first = proxies[0]
        state["proxy"] = _tcp_answers(first["host"], first["port"])
    if config["admin_listen"]:
        admin = config["admin_listen"][0]
        state["admin API"] = _http_answers(admin["host"], admin["port"])
    if guiconf.served(config):
        gui = config["admin_gui_listen"][0]
        state["GUI"] = _http_answers(gui["host"], gui["port"])
    client = ControlClient(str(paths.prefix(config["prefix"]).control_socket), timeout=2)
    try:
        state["configuration"] = client.snapshot_state().get("version") is not None
    except DataPlaneError:
        state["configuration"] = False
    return state


def wait_ready(config: Config, pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if not pidfile.alive(pid):
            raise click.ClickException(f"kongpy failed to start{log_tail(config)}")
        state = _readiness(config)
        if all(state.values()):
            return
        time.sleep(_POLL)
    waiting = ", ".join(name for name, ok in state.items() if not ok)
    stop(config["prefix"], signal.SIGTERM, 10)
    raise click.ClickException(f"timed out after {timeout:g}s waiting for: {waiting}"
                               f"{log_tail(config)}")


# What a supervisor killed outright may leave behind, and how each is stopped.
_LEFTOVERS = (("nginx", signal.SIGQUIT), ("admin", signal.SIGTERM), ("gui", signal.SIGTERM))


def stop_leftovers(prefix: str, timeout: float = 10) -> bool:
    """Stops processes of the prefix that outlived their supervisor.

    Its children die with it (they are told to by the kernel), but they finish
    their in-flight requests first; this waits for them, and stops any that a
    pid file still names, so a new node can bind the same addresses.
    Returns whether something was found.
    """
    root = paths.prefix(prefix)
    found = []
    for name, sig in _LEFTOVERS:
        pid = pidfile.running(root.root, name)
        if pid is None:
            pidfile.remove(root.pid_file(name))
            continue
        found.append((name, pid))
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for name, pid in found:
        while pidfile.alive(pid) and time.monotonic() < deadline:
            time.sleep(_POLL)
        if pidfile.alive(pid):
            _kill_tree(pid)
        pidfile.remove(root.pid_file(name))
    return bool(found)


def _kill_tree(pid: int) -> None:
    for victim in [pid] + children_of(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(prefix: str, sig: int, timeout: float) -> bool:
    """Signals the supervisor and waits; forces everything down if it hangs.

    Returns False if nothing of the node was running."""
    root = paths.prefix(prefix)
    pid = pidfile.supervisor_running(root.root)
    if pid is None:
        return stop_leftovers(prefix, timeout)
    root.pids.mkdir(parents=True, exist_ok=True)
    (root.pids / STOP_TIMEOUT_FILE).write_text(f"{timeout}\n")
    os.kill(pid, sig)
    # The supervisor itself forces nginx after `timeout`; allow for that.
    deadline = time.monotonic() + timeout + 15
    while time.monotonic() < deadline:
        if not pidfile.alive(pid):
            return True
        time.sleep(_POLL)
    _force(root, pid)
    return True


def _force(root: paths.Prefix, supervisor_pid: int) -> None:
    for name, pid in (("supervisor", supervisor_pid),
                      ("nginx", pidfile.running(root.root, "nginx")),
                      ("admin", pidfile.read(root.pid_file("admin"))),
                      ("gui", pidfile.read(root.pid_file("gui")))):
        if pid and pidfile.alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pidfile.remove(root.pid_file(name))
