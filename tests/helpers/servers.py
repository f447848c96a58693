"""Real upstream servers for tests: a threaded HTTP/1.1 echo server."""
from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


# Ports handed out to the nodes and servers the tests start: each pytest-xdist
# worker draws from a range of its own, below the kernel's ephemeral range, so
# that two test processes never pick the same free port before either binds
# it (a node would then answer on another node's port).
_PORTS_FROM, _PORTS_SPAN = 10000, 11000


def _port_range() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    start = _PORTS_FROM + (index % 2) * _PORTS_SPAN
    return range(start, start + _PORTS_SPAN)


# The ports this process handed out lately: a node asks for several ports
# before it binds any, and two draws from one range may be equal (the
# supervisor then refuses status_listen "also in proxy_listen").
_RECENT: list[int] = []
_RECENT_KEPT = 200


def free_port(host: str = "127.0.0.1") -> int:
    ports = _port_range()
    for _ in range(200):
        port = random.choice(ports)
        if port in _RECENT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _RECENT.append(port)
        del _RECENT[:-_RECENT_KEPT]
        return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with a JSON description of what it received.

    Query parameters steer it: `delay=<s>` sleeps before answering,
    `status=<n>` picks the status code, each `header=<name>:<value>` adds a
    response header.
    """

    protocol_version = "HTTP/1.1"
    server_version = "echo-upstream/1.0"
    # headers and body go out in separate writes: without TCP_NODELAY each
    # answer waits for the client's delayed ACK
    disable_nagle_algorithm = True

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(urlsplit(self.path).query)
        if "delay" in query:
            time.sleep(float(query["delay"][0]))
        elif self.server.delay:
            time.sleep(self.server.delay)
        status = int(query.get("status", ["200"])[0])
        headers: dict[str, str | list[str]] = {}
        for name, value in self.headers.items():
            key = name.lower()
            if key in headers:
                prev = headers[key]
                headers[key] = (prev if isinstance(prev, list) else [prev]) + [value]
            else:
                headers[key] = value
        payload = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": headers,
            "body": body.decode("latin-1"),
            "server_port": self.server.server_address[1],
            "name": self.server.name,
        }).encode()
        self.send_response(status)
        for extra in query.get("header", []):
            name, _, value = extra.partition(":")
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle
    do_PURGE = _handle  # a method nginx subrequests cannot name

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class _CountingServer(ThreadingHTTPServer):
    """Counts the TCP connections it accepted (keepalive reuse shows as few)."""

    daemon_threads = True
    connections = 0

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        self.connections += 1
        super().process_request(request, client_address)


class EchoServer:
    """`delay` seconds before every answer (a slow backend); `port` 0 = any."""

    def __init__(self, name: str = "upstream", host: str = "127.0.0.1", port: int = 0,
                 delay: float = 0.0) -> None:
        self.httpd = _CountingServer((host, port), _EchoHandler)
        self.httpd.name = name
        self.httpd.delay = delay
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        return self.httpd.connections

    def start(self) -> "EchoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _SwitchHandler(BaseHTTPRequestHandler):
    """Answers with the server's current ``status`` after its ``delay``."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        server = self.server
        path = self.path.split("?")[0]
        with server.lock:
            server.hits[path] = server.hits.get(path, 0) + 1
            server.last_headers[path] = {k.lower(): v for k, v in self.headers.items()}
        if server.delay:
            time.sleep(server.delay)
        payload = json.dumps({"name": server.name, "path": self.path}).encode()
        self.send_response(server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class SwitchServer:
    """An upstream whose answers a test switches: a status (200, 500, …), a
    delay, or no listener at all (``stop``: connections are refused) and back
    on the same port (``start``). ``hits`` counts requests per path,
    ``last_headers`` keeps the headers of the last one (names lower-cased)."""

    def __init__(self, name: str, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.name = name
        self.host = host
        self.port = port or free_port(host)
        self.status = 200
        self.delay = 0.0
        self.hits: dict[str, int] = {}
        self.last_headers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> "SwitchServer":
        httpd = ThreadingHTTPServer((self.host, self.port), _SwitchHandler)
        httpd.daemon_threads = True
        httpd.name = self.name
        httpd.lock = self._lock
        httpd.hits = self.hits
        httpd.last_headers = self.last_headers
        httpd.status = self.status
        httpd.delay = self.delay
        self.httpd = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return self

    def set(self, status: int | None = None, delay: float | None = None) -> None:
        if status is not None:
            self.status = status
        if delay is not None:
            self.delay = delay
        if self.httpd is not None:
            self.httpd.status, self.httpd.delay = self.status, self.delay

    def count(self, path: str) -> int:
        with self._lock:
            return self.hits.get(path, 0)

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
