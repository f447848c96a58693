"""Real upstream servers for tests: a threaded HTTP/1.1 echo server."""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with a JSON description of what it received.

    Query parameters steer it: `delay=<s>` sleeps before answering,
    `status=<n>` picks the status code, each `header=<name>:<value>` adds a
    response header.
    """

    protocol_version = "HTTP/1.1"
    server_version = "echo-upstream/1.0"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(urlsplit(self.path).query)
        if "delay" in query:
            time.sleep(float(query["delay"][0]))
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


class EchoServer:
    def __init__(self, name: str = "upstream", host: str = "127.0.0.1") -> None:
        self.httpd = ThreadingHTTPServer((host, 0), _EchoHandler)
        self.httpd.daemon_threads = True
        self.httpd.name = name
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "EchoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
