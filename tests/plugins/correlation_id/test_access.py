"""correlation-id through a real node: its generators, the header upstream and
downstream, a request ended by another plugin."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

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


def test_an_answer_before_its_access_still_carries_an_id(gateway, svc):
    """Kong's header_filter echoes the client's id, else a new one, when a
    plugin of a higher priority (pre-function) ended the request first."""
    gw = gateway
    gw.route("/cid-early", {"name": "correlation-id", "config": {
        "generator": "uuid", "echo_downstream": True}},
        {"name": "pre-function", "config": {"access": ["kong.response.exit(418)"]}})
    gw.wait_sync()
    resp = proxy(gw).get("/cid-early")
    assert resp.status_code == 418
    assert re.fullmatch(UUID4, resp.headers["Kong-Request-ID"])
    resp = proxy(gw).get("/cid-early", headers={"Kong-Request-ID": "my very personal id"})
    assert resp.headers["Kong-Request-ID"] == "my very personal id"


def test_the_id_is_a_field_of_the_log_record(gateway, svc):
    gw = gateway
    # a folder the workers (nginx_user) may write to
    folder = Path(tempfile.mkdtemp(prefix="kongpy-cid-"))
    folder.chmod(0o777)
    path = folder / "cid.log"
    gw.route("/cid-logged", {"name": "correlation-id"},
             {"name": "file-log", "config": {"path": str(path)}})
    gw.wait_sync()
    sent = proxy(gw).get("/cid-logged").json()["headers"]["kong-request-id"]
    deadline = time.monotonic() + 5
    while not (path.exists() and path.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    record = json.loads(path.read_text().splitlines()[0])
    shutil.rmtree(folder, ignore_errors=True)
    assert record["correlation_id"] == sent
