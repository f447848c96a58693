"""Datastores that tests may stop or freeze without disturbing anyone else.

:class:`OwnPostgres` is a private PostgreSQL (scripts/servers/postgres.sh on a
free port, its data in a folder of its own), never the shared test server.
:meth:`OwnPostgres.frozen` stops its processes with SIGSTOP: the kernel still
accepts connections and acknowledges packets, nothing answers them, which is
what a hung host, a paused VM or container looks like to a client.

:class:`Relay` is a TCP relay in front of a real server (the shared Cassandra):
frozen, it stops accepting and forwarding while the kernel keeps its sockets
open, the same silence as a frozen server, with the server itself untouched.
"""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tests.helpers import datastores
from tests.helpers.servers import free_port

SCRIPT = str(datastores.REPO / "scripts" / "servers" / "postgres.sh")


class _Freezable:
    """``with server.frozen(): ...``: silent inside, answering again after."""

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    @contextmanager
    def frozen(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()


class OwnPostgres(_Freezable):
    """A private PostgreSQL started and stopped through scripts/servers/postgres.sh.

    ``name`` and the xdist worker choose its data folder, so two tests running
    at once never share (or stop) one instance.
    """

    def __init__(self, name: str) -> None:
        self.port = free_port()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.dir = datastores.REPO / ".cache" / f"servers-{name}-{worker}"
        self.env = dict(os.environ, KONGPY_TEST_PG_PORT=str(self.port),
                        KONGPY_TEST_SERVERS_DIR=str(self.dir))
        self._stopped: list[int] = []

    def run(self, command: str) -> None:
        proc = subprocess.run([SCRIPT, command], env=self.env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, f"postgres.sh {command}: {proc.stderr}"

    def start(self) -> "OwnPostgres":
        # A run killed while the server was frozen may have left it behind
        # (frozen, on another port): wake it and stop it first.
        self._cont(self.pids())
        # the server runs as `postgres`: its folder must be searchable whatever
        # umask this process was left with (the CLI, run in-process by unit
        # tests, narrows it)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.run("stop")
        self.run("start")
        return self

    def stop(self) -> None:
        self.thaw()
        self.run("stop")

    def settings(self, timeout_ms: int, schema: str | None = None) -> dict[str, Any]:
        settings = datastores.pg_settings(schema or datastores.unique_name("own"))
        settings.update(pg_port=self.port, pg_timeout=timeout_ms)
        return settings

    def pids(self) -> list[int]:
        """The postmaster and its children (backends and background workers)."""
        pid_file = Path(self.dir) / "postgres" / "data" / "postmaster.pid"
        try:
            postmaster = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return []
        return [postmaster] + _children(postmaster)

    def freeze(self) -> None:
        """SIGSTOP: the postmaster first (it forks no new backend), then its children."""
        pids = self.pids()
        assert pids, "the private postgres is not running"
        for pid in pids:
            self._signal(pid, signal.SIGSTOP)
            self._stopped.append(pid)

    def thaw(self) -> None:
        # Children forked before the freeze are all in the list; wake any
        # other child too, in case one was forked while stopping.
        self._cont(self._stopped + self.pids())
        self._stopped = []

    def _cont(self, pids: list[int]) -> None:
        for pid in dict.fromkeys(pids):
            self._signal(pid, signal.SIGCONT)

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Relay(_Freezable):
    """A TCP relay to ``host:port`` that :meth:`freeze` makes fall silent."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self._running = threading.Event()
        self._running.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._running.clear()

    def thaw(self) -> None:
        self._running.set()

    def close(self) -> None:
        self._closed.set()
        self._running.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets = []

    def _wait_running(self) -> bool:
        while not self._running.wait(0.1):
            if self._closed.is_set():
                return False
        return not self._closed.is_set()

    def _accept(self) -> None:
        while self._wait_running():
            ready, _, _ = select.select([self._listener], [], [], 0.1)
            if not ready or not self._running.is_set():
                continue  # frozen: the kernel queues the connection unanswered
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while self._wait_running():
                ready, _, _ = select.select(list(peers), [], [], 0.1)
                if not self._running.is_set():
                    continue  # frozen: nothing read, nothing forwarded
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


def timed(call: Any, *args: Any) -> tuple[float, Any]:
    """(seconds taken, result or the exception raised) of ``call(*args)``."""
    started = time.monotonic()
    try:
        result = call(*args)
    except Exception as exc:  # noqa: BLE001 - the caller inspects it
        result = exc
    return time.monotonic() - started, result
