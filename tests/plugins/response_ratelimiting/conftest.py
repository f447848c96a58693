"""response-ratelimiting counts what the upstream reports: the module's
upstream answers with ``X-Kong-Limit`` taken from the request."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest


class _Reporting(BaseHTTPRequestHandler):
    """Answers 200 with `X-Kong-Limit: <the `cost` query values>` when given
    (several joined by ", " into one header, as Kong's mock upstream does);
    the body shows the path and the request's headers (names lower-cased)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        cost = parse_qs(urlsplit(self.path).query).get("cost")
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps({"path": self.path, "headers": headers}).encode()
        self.send_response(200)
        if cost:
            self.send_header("X-Kong-Limit", ", ".join(cost))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reporting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    server.server_close()
