"""correlation-id through a real node: its generators, the header upstream and
downstream, a request ended by another plugin."""
from __future__ import annotations

import re

from tests.helpers.http import proxy

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def test_correlation_id(gateway, svc):
    gw = gateway
    gw.route("/cid", {"name": "correlation-id"})
    gw.route("/cid-uuid", {"name": "correlation-id", "config": {
        "header_name": "X-Cid", "generator": "uuid", "echo_downstream": True}})
    gw.route("/cid-tracker", {"name": "correlation-id", "config": {"generator": "tracker"}})
    gw.route("/cid-term", {"name": "correlation-id", "config": {"echo_downstream": True}},
             {"name": "request-termination", "config": {"status_code": 401}})
    gw.wait_sync()
    seen = [proxy(gw).get("/cid").json()["headers"]["kong-request-id"] for _ in range(4)]
    for value in seen:
        assert re.fullmatch(UUID4 + r"#\d+", value), value
    counters = {}
    for value in seen:
        prefix, n = value.split("#")
        counters.setdefault(prefix, []).append(int(n))
    assert all(ns == sorted(ns) and len(set(ns)) == len(ns) for ns in counters.values())
    assert "Kong-Request-ID" not in proxy(gw).get("/cid").headers

    resp = proxy(gw).get("/cid-uuid")
    sent = resp.json()["headers"]["x-cid"]
    assert re.fullmatch(UUID4, sent) and resp.headers["X-Cid"] == sent
    assert proxy(gw).get("/cid-uuid").headers["X-Cid"] != sent
    resp = proxy(gw).get("/cid-uuid", headers={"X-Cid": "from-client"})
    assert resp.json()["headers"]["x-cid"] == "from-client"
    assert resp.headers["X-Cid"] == "from-client"

    tracker = proxy(gw).get("/cid-tracker").json()["headers"]["kong-request-id"]
    port = gw.ports["proxy"]
    assert re.fullmatch(rf"127\.0\.0\.1-{port}-\d+-\d+-1-\d+\.\d{{3}}", tracker), tracker

    resp = proxy(gw).get("/cid-term")
    assert resp.status_code == 401
    assert re.fullmatch(UUID4 + r"#\d+", resp.headers["Kong-Request-ID"])
