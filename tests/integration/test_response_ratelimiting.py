"""response-ratelimiting through real nginx: the upstream's X-Kong-Limit
header drives the counters (removed before the client sees it), Kong's
headers, the bodiless 429 and block_on_first_violation."""
from __future__ import annotations

import json
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.integration.test_rate_limiting import REDIS, require_redis


class _Reporting(BaseHTTPRequestHandler):
    """Answers 200 with `X-Kong-Limit: <the `cost` query value>` when given."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        cost = parse_qs(urlsplit(self.path).query).get("cost")
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        if cost:
            self.send_header("X-Kong-Limit", cost[0])
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_binary("nginx")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Reporting)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gw = Gateway(tmp_path_factory.mktemp("rrl"), workers=2).start()
    gw.create("/services", {"name": "rrl", "url": f"http://127.0.0.1:{server.server_port}"})
    try:
        yield gw
    finally:
        gw.stop()
        server.shutdown()
        server.server_close()


def add_route(gw: Gateway, path: str, config: dict) -> None:
    route = gw.create("/services/rrl/routes", {"id": str(uuid.uuid4()), "paths": [path]})
    gw.create(f"/routes/{route['id']}/plugins",
              {"name": "response-ratelimiting", "config": config})
    gw.wait_sync()


def get(gw: Gateway, path: str) -> requests.Response:
    resp = requests.get(gw.proxy + path, timeout=5)
    time.sleep(0.15)  # increments are applied after the response, in a timer
    return resp


@pytest.mark.parametrize("policy", ["local", "redis", "cluster"])
def test_upstream_reported_usage(node, policy):
    if policy == "redis":
        require_redis()
    path = f"/videos-{policy}"
    add_route(node, path, {"limits": {"videos": {"minute": 3}, "images": {"hour": 10}},
                           "policy": policy, "redis": REDIS})
    left = 60 - time.time() % 60
    if left < 12:
        time.sleep(left + 0.2)
    first = get(node, path + "?cost=videos=2")
    assert first.status_code == 200
    assert "X-Kong-Limit" not in first.headers
    assert first.headers["X-RateLimit-Limit-videos-minute"] == "3"
    assert first.headers["X-RateLimit-Remaining-videos-minute"] == "1"
    assert first.headers["X-RateLimit-Limit-images-hour"] == "10"
    assert first.headers["X-RateLimit-Remaining-images-hour"] == "10"
    if policy == "cluster":
        time.sleep(1.5)  # the node learns the total at its next sync
    second = get(node, path + "?cost=videos=1,%20images=4")
    assert second.status_code == 200
    assert second.headers["X-RateLimit-Remaining-videos-minute"] == "0"
    assert second.headers["X-RateLimit-Remaining-images-hour"] == "6"
    if policy == "cluster":
        time.sleep(1.5)
    # Nothing left, and the upstream reports more: a bodiless 429 replaces its answer.
    third = get(node, path + "?cost=videos=1")
    assert third.status_code == 429
    assert third.content == b""
    # Without a report the request still passes (only reported usage counts).
    assert get(node, path).status_code == 200


def test_block_on_first_violation(node):
    add_route(node, "/blocked", {"limits": {"videos": {"second": 1, "minute": 5}},
                                 "block_on_first_violation": True})
    time.sleep(1.05 - time.time() % 1)
    assert get(node, "/blocked?cost=videos=1").status_code == 200
    resp = get(node, "/blocked?cost=videos=1")
    assert resp.status_code == 429
    assert resp.json()["message"] == "API rate limit exceeded for 'videos'"
