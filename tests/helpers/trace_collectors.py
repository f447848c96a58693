"""Trace receivers for the tracing plugins' tests: an HTTP server that keeps
every POST it gets, with decoders for OTLP/HTTP protobuf
(``opentelemetry-proto``) and Zipkin v2 JSON."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from tests.helpers.servers import free_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        server: Collector = self.server.collector  # type: ignore[attr-defined]
        with server.lock:
            server.posts.append({"path": self.path, "headers": dict(self.headers),
                                 "body": body})
        status = server.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


class Collector:
    """Keeps what it is sent; answers ``status`` (200 unless changed)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[dict] = []
        self.lock = threading.Lock()
        self.status = 200
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self._server.collector = self  # type: ignore[attr-defined]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "Collector":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.posts)

    def wait_for(self, found: Callable[[list[dict]], Any], timeout: float = 10.0) -> Any:
        """Polls until ``found(posts)`` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = found(self.received())
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)


def otlp_spans(posts: list[dict]) -> list[dict]:
    """Every span of the OTLP bodies, flattened, with its resource and scope."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    spans = []
    for post in posts:
        req = trace_service_pb2.ExportTraceServiceRequest()
        req.ParseFromString(post["body"])
        for rs in req.resource_spans:
            resource = {kv.key: _any(kv.value) for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append({
                        "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                        "parent_id": s.parent_span_id.hex(), "name": s.name,
                        "kind": s.kind, "start": s.start_time_unix_nano,
                        "end": s.end_time_unix_nano, "status": s.status.code,
                        "attributes": {kv.key: _any(kv.value) for kv in s.attributes},
                        "events": [e.name for e in s.events],
                        "resource": resource, "scope": ss.scope.name,
                        "content_type": post["headers"].get("Content-Type"),
                        "headers": post["headers"],
                    })
    return spans


def _any(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_any(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def zipkin_spans(posts: list[dict]) -> list[dict]:
    """Every span of the Zipkin v2 JSON bodies."""
    spans = []
    for post in posts:
        spans.extend(json.loads(post["body"]))
    return spans
