"""correlation-id against the scenarios of Kong's access spec not covered in
test_access.py: the counter of a one-worker node, a custom header name, and
the id echoed on answers the upstream did not give (unreachable upstream,
an error in a later plugin)."""
from __future__ import annotations

import re

from tests.helpers.http import proxy

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_kong_scenarios(start_node, upstream):
    gw = start_node(workers=1)
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.create("/services", {"name": "down", "url": "http://127.0.0.2:26865"})
    echo = {"name": "correlation-id", "config": {"generator": "uuid", "echo_downstream": True}}
    gw.route("/c1", {"name": "correlation-id"})
    gw.route("/c2", {"name": "correlation-id", "config": {"header_name": "Foo-Bar-Id"}})
    gw.route("/c-timeout", echo, service="down")
    gw.route("/c-error", echo, {"name": "post-function", "config": {
        "access": ["error('boom')"]}})
    gw.wait_sync()
    first = proxy(gw).get("/c1").json()["headers"]["kong-request-id"]
    second = proxy(gw).get("/c1").json()["headers"]["kong-request-id"]
    assert re.fullmatch(UUID + "#1", first) and re.fullmatch(UUID + "#2", second)
    assert first.split("#")[0] == second.split("#")[0]
    resp = proxy(gw).get("/c2")
    assert re.fullmatch(UUID + r"#\d+", resp.json()["headers"]["foo-bar-id"])
    assert "foo-bar-id" not in resp.headers
    resp = proxy(gw).get("/c2", headers={"Kong-Request-ID": "foobar"})
    assert resp.json()["headers"]["kong-request-id"] == "foobar"
    resp = proxy(gw).get("/c-timeout")
    assert resp.status_code == 502
    assert re.fullmatch(UUID, resp.headers["Kong-Request-ID"])
    resp = proxy(gw).get("/c-error")
    assert resp.status_code == 500
    assert re.fullmatch(UUID, resp.headers["Kong-Request-ID"])
