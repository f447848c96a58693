"""zipkin through a real node and a real Zipkin receiver: v2 JSON spans with
their parent/child ids, B3 (multi and single) and W3C in and out, balancer
tries, tags, sampling."""
from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers.http import proxy
from tests.helpers.servers import free_port
from tests.helpers.trace_collectors import Collector, zipkin_spans


@pytest.fixture(scope="module")
def collector():
    c = Collector().start()
    yield c
    c.stop()


def zipkin(collector: Collector, **config) -> dict:
    return {"name": "zipkin", "config": {
        "http_endpoint": collector.url("/api/v2/spans"), "sample_ratio": 1,
        "queue": {"max_coalescing_delay": 0.1}, **config}}


def trace(collector: Collector, trace_id: str, node=None) -> dict[str, dict]:
    """The trace's spans once its request span is in: each span is a queue
    entry of its own and the request span is reported last, after the
    balancer tries and the proxy span, in the order a worker's queue keeps."""
    def found(posts):
        spans = [s for s in zipkin_spans(posts) if s["traceId"] == trace_id]
        return spans if any(s.get("kind") == "SERVER" for s in spans) else None
    spans = collector.wait_for(found)
    assert spans, (f"trace {trace_id} not reported: {zipkin_spans(collector.received())}\n"
                   + (node.error_log_tail() if node else ""))
    return {s["name"]: s for s in spans}


def test_b3_in_and_out(gateway, svc, collector):
    gateway.route("/zb3", zipkin(collector, static_tags=[{"name": "team", "value": "edge"}],
                                 http_response_header_for_traceid="X-Trace"))
    gateway.wait_sync()
    trace_id, span_id, parent = (secrets.token_hex(16), secrets.token_hex(8),
                                 secrets.token_hex(8))
    resp = proxy(gateway).get("/zb3/p", headers={
        "x-b3-traceid": trace_id, "x-b3-spanid": span_id, "x-b3-parentspanid": parent,
        "x-b3-sampled": "1", "Zipkin-Tags": "foo=bar; baz = qux"})
    assert resp.status_code == 200 and resp.headers["X-Trace"] == trace_id
    up = resp.json()["headers"]
    assert up["x-b3-traceid"] == trace_id and up["x-b3-sampled"] == "1"
    # the upstream's parent is our request span, which is the client's span
    assert up["x-b3-parentspanid"] == span_id
    spans = trace(collector, trace_id, gateway)
    request, proxied = spans["GET"], spans["GET (proxy)"]
    assert request["id"] == span_id and request["parentId"] == parent
    assert request["kind"] == "SERVER"
    assert proxied["id"] == up["x-b3-spanid"] and proxied["parentId"] == span_id
    assert proxied["kind"] == "CLIENT"
    try1 = spans["GET (balancer try 1)"]
    assert try1["parentId"] == span_id and try1["kind"] == "CLIENT"
    assert try1["tags"]["kong.balancer.try"] == "1"
    assert try1["remoteEndpoint"]["ipv4"] == "127.0.0.1"
    tags = request["tags"]
    assert tags["lc"] == "kong" and tags["http.method"] == "GET"
    assert tags["http.path"] == "/zb3/p" and tags["http.status_code"] == "200"
    assert tags["team"] == "edge" and tags["foo"] == "bar" and tags["baz"] == "qux"
    assert tags["kong.node.id"]
    assert proxied["tags"]["kong.service"] == svc["id"]
    assert proxied["remoteEndpoint"]["serviceName"] == "svc"
    assert request["localEndpoint"] == {"serviceName": "kong"}
    assert {a["value"] for a in proxied["annotations"]} >= {"kas", "kaf", "khs", "kbf"}
    for span in spans.values():
        assert isinstance(span["timestamp"], int) and isinstance(span["duration"], int)


def test_b3_single_and_w3c(gateway, svc, collector):
    gateway.route("/zw3c", zipkin(collector, propagation={
        "extract": ["w3c", "b3"], "inject": ["preserve"], "default_format": "b3"}))
    gateway.wait_sync()
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    up = proxy(gateway).get("/zw3c", headers={
        "traceparent": f"00-{trace_id}-{span_id}-01"}).json()["headers"]
    version, up_trace, up_span, flags = up["traceparent"].split("-")
    assert (up_trace, flags) == (trace_id, "01") and "x-b3-traceid" not in up
    spans = trace(collector, trace_id)
    assert spans["GET (proxy)"]["id"] == up_span
    assert spans["GET"]["id"] == span_id

    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    up = proxy(gateway).get("/zw3c", headers={"b3": f"{trace_id}-{span_id}-1"}).json()["headers"]
    single = up["b3"].split("-")
    assert single[0] == trace_id and single[2] == "1" and single[3] == span_id
    spans = trace(collector, trace_id)
    assert spans["GET (proxy)"]["id"] == single[1]


def test_unsampled_and_new_traces(gateway, svc, collector):
    gateway.route("/znever", zipkin(collector, sample_ratio=0, traceid_byte_count=8))
    gateway.wait_sync()
    up = proxy(gateway).get("/znever").json()["headers"]
    assert len(up["x-b3-traceid"]) == 16 and up["x-b3-sampled"] == "0"
    assert "x-b3-parentspanid" in up
    # a sampled incoming request is reported whatever the ratio says
    trace_id = secrets.token_hex(8)
    up = proxy(gateway).get("/znever", headers={
        "x-b3-traceid": trace_id, "x-b3-spanid": secrets.token_hex(8),
        "x-b3-sampled": "1"}).json()["headers"]
    assert up["x-b3-sampled"] == "1"
    trace(collector, trace_id)
    reported = {s["traceId"] for s in zipkin_spans(collector.received())}
    assert up["x-b3-traceid"] in reported


def test_span_names_and_duration_tags(gateway, svc, collector):
    gateway.route("/ztags", zipkin(collector, http_span_name="method_path",
                                   phase_duration_flavor="tags", local_service_name="edge"))
    gateway.wait_sync()
    trace_id = secrets.token_hex(16)
    proxy(gateway).post("/ztags/x", headers={"x-b3-traceid": trace_id,
                                             "x-b3-spanid": secrets.token_hex(8),
                                             "x-b3-sampled": "1"})
    spans = trace(collector, trace_id, gateway)
    request, proxied = spans["POST /ztags/x"], spans["POST /ztags/x (proxy)"]
    assert "POST /ztags/x (balancer try 1)" in spans
    assert request["localEndpoint"] == {"serviceName": "edge"}
    for tag in ("kong.access.duration_ms", "kong.header_filter.duration_ms",
                "kong.body_filter.duration_ms"):
        assert int(proxied["tags"][tag]) >= 0
    assert "annotations" not in proxied


def test_failed_balancer_try(gateway, upstream, collector):
    dead = free_port()
    folder = Path(tempfile.mkdtemp(prefix="kongpy-zipkin-"))
    folder.chmod(0o777)
    log_file = folder / "log.json"
    gateway.create("/upstreams", {"name": "zpair"})
    gateway.create("/upstreams/zpair/targets", {"target": f"127.0.0.1:{dead}"})
    gateway.create("/upstreams/zpair/targets", {"target": f"127.0.0.1:{upstream.port}"})
    gateway.create("/services", {"name": "zbalanced", "url": "http://zpair/"})
    # a logger beside: the log object and the spans share one record of the tries
    gateway.route("/zretry", zipkin(collector),
                  {"name": "file-log", "config": {"path": str(log_file)}}, service="zbalanced")
    gateway.wait_sync()
    ids = []
    for _ in range(4):
        resp = proxy(gateway).get("/zretry")
        assert resp.status_code == 200
        ids.append(resp.json()["headers"]["x-b3-traceid"])
    retried = 0
    for trace_id in ids:
        spans = trace(collector, trace_id)
        second = spans.get("GET (balancer try 2)")
        if second:
            retried += 1
            first = spans["GET (balancer try 1)"]
            assert first["tags"]["error"] == "true"
            assert first["tags"]["kong.balancer.state"] == "failed"
            assert first["remoteEndpoint"]["port"] == dead
            assert "error" not in second["tags"]
            assert spans["GET (proxy)"]["remoteEndpoint"]["port"] == upstream.port
    assert retried >= 1
    entries = {}
    deadline = time.monotonic() + 5
    while len(entries) < len(ids) and time.monotonic() < deadline:
        if log_file.exists():
            entries = {e["trace_id"]["b3"]: e for e in map(json.loads,
                                                           log_file.read_text().splitlines())}
        time.sleep(0.05)
    for trace_id in ids:
        spans = trace(collector, trace_id)
        tries = [n for n in spans if "(balancer try" in n]
        assert len(entries[trace_id]["tries"]) == len(tries)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_try_span_ends_with_its_connection_and_names_the_target(gateway, upstream, collector):
    """As Kong: a balancer try's span lasts the balancer run and the
    connection to the peer, the wait for the answer is the proxy span's; the
    proxy span's peer.hostname is the target's name for an upstream."""
    gateway.create("/upstreams", {"name": "zhosts"})
    gateway.create("/upstreams/zhosts/targets", {"target": f"localhost:{upstream.port}"})
    gateway.create("/services", {"name": "zslow", "url": "http://zhosts/"})
    gateway.route("/zslow", zipkin(collector), service="zslow")
    gateway.wait_sync()
    resp = proxy(gateway).get("/zslow", params={"delay": "0.4"})
    assert resp.status_code == 200
    spans = trace(collector, resp.json()["headers"]["x-b3-traceid"], gateway)
    try1, proxied = spans["GET (balancer try 1)"], spans["GET (proxy)"]
    assert proxied["duration"] >= 400_000
    assert try1["duration"] < 200_000
    assert proxied["tags"]["peer.hostname"] == "localhost"


def test_schema_errors(client):
    from tests.helpers.http import admin
    api = admin(client)
    body = api.post("/plugins", {"name": "zipkin", "config": {"static_tags": [
        {"name": "a", "value": "1"}, {"name": "a", "value": "2"}]}}, 400)
    assert body["fields"] == {"config": {"static_tags": "repeated tags are not allowed: a"}}
    body = api.post("/plugins", {"name": "zipkin", "config": {"static_tags": [
        {"name": "lc", "value": "1"}]}}, 400)
    assert body["fields"]["config"]["static_tags"][0]["name"].startswith("must not be one of")
    body = api.post("/plugins", {"name": "zipkin", "config": {"traceid_byte_count": 12}}, 400)
    assert body["fields"] == {"config": {"traceid_byte_count": "expected one of: 8, 16"}}
    plugin = api.post("/plugins", {"name": "zipkin"})
    config = plugin["config"]
    assert config["propagation"]["default_format"] == "b3"
    assert (config["sample_ratio"], config["local_service_name"], config["header_type"],
            config["default_header_type"], config["traceid_byte_count"],
            config["tags_header"], config["http_span_name"], config["connect_timeout"],
            config["phase_duration_flavor"], config["include_credential"]) == (
        0.001, "kong", "preserve", "b3", 16, "Zipkin-Tags", "method", 2000, "annotations",
        True)
