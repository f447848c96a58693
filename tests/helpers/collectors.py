"""Real log receivers for the logging plugins' tests.

``HttpCollector`` is a threaded HTTP/1.1 server that records every request
it receives (method, path, headers, body). It can be told to answer the next
N requests with an error status (``fail_next``) and to go down and come back
on the same port (``down`` / ``up``), so tests watch a plugin's retries and
its behaviour while the collector is unreachable. ``tls=True`` serves HTTPS
with a self-signed certificate (nobody can verify it).
"""
from __future__ import annotations

import json
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.certs import make
from tests.helpers.servers import free_port


@dataclass
class Received:
    """One request the collector received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "collector/1.0"
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        collector: HttpCollector = self.server.collector  # type: ignore[attr-defined]
        status = collector._answer_status()
        headers = {name.lower(): value for name, value in self.headers.items()}
        collector._record(Received(self.command, self.path, headers, body, status))
        payload = b"failing on purpose" if status >= 300 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT = do_PATCH = do_GET = _handle  # noqa: N815 - stdlib naming

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class HttpCollector:
    """Records what logging plugins send; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None,
                 tls: bool = False) -> None:
        self.host = host
        self.tls = tls
        self.port = port or free_port(host)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._received: list[Received] = []
        self._failures = 0
        self._failure_status = 500
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        pair = make("collector.test")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
            pem.write(pair.cert + pair.key)
            pem.flush()
            context.load_cert_chain(pem.name)
        return context

    def start(self) -> "HttpCollector":
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        if self.tls:
            server.socket = self._context().wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        server.collector = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # an unreachable collector: nothing listens on its port until up()
    down = stop
    up = start

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status``."""
        with self._lock:
            self._failures = count
            self._failure_status = status

    def _answer_status(self) -> int:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                return self._failure_status
            return 200

    def _record(self, item: Received) -> None:
        with self._cond:
            self._received.append(item)
            self._cond.notify_all()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests received (fails after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the collector received {len(self._received)} "
                                         f"requests, expected {count}")
                self._cond.wait(left)
            return list(self._received[:count])

    def accepted(self) -> list[Received]:
        """The requests it answered with success."""
        return [r for r in self.received() if r.status < 300]
