"""An upstream that echoes what it receives and serves what a test asks.

Unregistered paths answer with a JSON description of the request (method,
path, query, headers, body; a chunked request body is read whole).
``serve(path, body, ...)`` registers an answer: its content type, extra
headers, gzip encoding and chunked transfer (the body in several chunks),
for response-transformation tests.
"""
from __future__ import annotations

import gzip as gzip_module
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    body: bytes
    content_type: str | None = "application/json"
    gzip: bool = False
    chunked: bool = False
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "serving-upstream/1.0"
    disable_nagle_algorithm = True

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _echo(self, body: bytes) -> Answer:
        headers: dict[str, str | list[str]] = {}
        for name, value in self.headers.items():
            key = name.lower()
            prev = headers.get(key)
            if prev is None:
                headers[key] = value
            else:
                headers[key] = (prev if isinstance(prev, list) else [prev]) + [value]
        url = urlsplit(self.path)
        payload = {"method": self.command, "path": url.path, "raw_query": url.query,
                   "query": parse_qs(url.query, keep_blank_values=True),
                   "headers": headers, "body": body.decode("latin-1")}
        return Answer(json.dumps(payload).encode())

    def _handle(self) -> None:
        body = self._read_body()
        self.server.received.append((self.command, self.path, body))
        answer = self.server.answers.get(urlsplit(self.path).path) or self._echo(body)
        payload = gzip_module.compress(answer.body) if answer.gzip else answer.body
        self.send_response(answer.status)
        if answer.content_type:
            self.send_header("Content-Type", answer.content_type)
        if answer.gzip:
            self.send_header("Content-Encoding", "gzip")
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not answer.chunked:
            self.wfile.write(payload)
            return
        step = max(1, len(payload) // 4)
        for i in range(0, len(payload), step):
            piece = payload[i:i + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class ServingServer:
    """The upstream of the transformation tests (``port`` 0 = any)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.answers = {}
        self.httpd.received = []
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve(self, path: str, body: bytes | str, **options) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.httpd.answers[path] = Answer(data, **options)

    def start(self) -> "ServingServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
