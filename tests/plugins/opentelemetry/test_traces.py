"""opentelemetry through a real node and a real OTLP/HTTP receiver: the trace
continues from the client's traceparent, the span tree (request root →
router, plugin, balancer tries with a failed one), the resource, sampling,
the traceparent the upstream gets, and propagation with tracing off."""
from __future__ import annotations

import secrets
import time

import pytest

from tests.helpers.http import proxy
from tests.helpers.servers import free_port
from tests.helpers.trace_collectors import Collector, otlp_spans

SERVER, CLIENT, INTERNAL = 2, 3, 1
ERROR = 2


@pytest.fixture(scope="module")
def collector():
    c = Collector().start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def node(start_node, upstream, collector):
    gw = start_node(tracing_instrumentations="all", tracing_sampling_rate="1")
    gw.create("/services", {"name": "svc", "url": upstream.url})
    return gw


def otel(collector: Collector, **config) -> dict:
    return {"name": "opentelemetry", "config": {
        "traces_endpoint": collector.url("/v1/traces"),
        "queue": {"max_coalescing_delay": 0.1}, **config}}


def traceparent(trace_id: str, parent: str, flags: str = "01") -> str:
    return f"00-{trace_id}-{parent}-{flags}"


def spans_of(collector: Collector, trace_id: str, last: str = "kong") -> list[dict]:
    """The trace's spans once the one named (or with the span id) ``last`` is in.

    Each span is a queue entry (a batch of one unless queue.max_batch_size
    says more, as in Kong) and a worker's queue sends them in the order the
    request made them, so the span made last stands for the whole trace."""
    def found(posts):
        spans = [s for s in otlp_spans(posts) if s["trace_id"] == trace_id]
        return spans if any(last in (s["name"], s["span_id"]) for s in spans) else None
    spans = collector.wait_for(found)
    assert spans, f"trace {trace_id} not exported: {otlp_spans(collector.received())}"
    return spans


def test_trace_continues_from_traceparent(node, collector):
    node.route("/otel", otel(collector, sampling_rate=1,
                             resource_attributes={"service.name": "edge", "zone": "z1"},
                             headers={"X-Api-Key": "k1"},
                             http_response_header_for_traceid="X-Trace-Id"))
    node.wait_sync()
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    resp = proxy(node).get("/otel/x?a=1", headers={"traceparent": traceparent(trace_id, parent)})
    assert resp.status_code == 200
    assert resp.headers["X-Trace-Id"] == trace_id
    sent = resp.json()["headers"]["traceparent"]
    version, up_trace, up_parent, flags = sent.split("-")
    assert (version, up_trace, flags) == ("00", trace_id, "01")

    spans = spans_of(collector, trace_id, last=up_parent)
    by_name = {s["name"]: s for s in spans}
    root = by_name["kong"]
    assert root["parent_id"] == parent and root["kind"] == SERVER
    attrs = root["attributes"]
    assert attrs["http.method"] == "GET"
    assert attrs["http.url"] == "http://127.0.0.1/otel/x?a=1"
    assert attrs["http.host"] == "127.0.0.1" and attrs["http.scheme"] == "http"
    assert attrs["http.flavor"] == "1.1" and attrs["net.peer.ip"] == "127.0.0.1"
    assert attrs["http.status_code"] == 200 and attrs["http.route"] == "/otel"
    for child in ("kong.router", "kong.access.plugin.opentelemetry", "kong.balancer"):
        assert by_name[child]["parent_id"] == root["span_id"], child
        assert root["start"] <= by_name[child]["start"] <= by_name[child]["end"] <= root["end"]
    balancer = by_name["kong.balancer"]
    # the upstream call: the upstream's parent is the (last) balancer try
    assert balancer["span_id"] == up_parent and balancer["kind"] == CLIENT
    # as Kong: the try whose id went upstream lasts until the answer is through
    assert balancer["end"] == root["end"]
    assert balancer["attributes"]["try_count"] == 1
    assert balancer["attributes"]["net.peer.ip"] == "127.0.0.1"
    assert balancer["status"] == 0
    resource = root["resource"]
    assert resource["service.name"] == "edge" and resource["zone"] == "z1"
    assert resource["service.instance.id"] and resource["service.version"]
    assert root["scope"] == "kong-internal"
    assert root["content_type"] == "application/x-protobuf"
    assert root["headers"]["X-Api-Key"] == "k1"


def test_balancer_tries_with_a_failed_one(node, collector, upstream):
    dead = free_port()
    node.create("/upstreams", {"name": "twotargets"})
    node.create("/upstreams/twotargets/targets", {"target": f"127.0.0.1:{dead}"})
    node.create("/upstreams/twotargets/targets", {"target": f"127.0.0.1:{upstream.port}"})
    node.create("/services", {"name": "balanced", "url": "http://twotargets/"})
    node.route("/retried", otel(collector, sampling_rate=1), service="balanced")
    node.wait_sync()
    traces = []
    for _ in range(4):
        trace_id = secrets.token_hex(16)
        resp = proxy(node).get("/retried", headers={
            "traceparent": traceparent(trace_id, secrets.token_hex(8))})
        assert resp.status_code == 200
        traces.append((trace_id, resp.json()["headers"]["traceparent"].split("-")[2]))
    retried = 0
    for trace_id, up_parent in traces:
        spans = spans_of(collector, trace_id, last=up_parent)
        root = next(s for s in spans if s["name"] == "kong")
        tries = sorted((s for s in spans if s["name"] == "kong.balancer"),
                       key=lambda s: s["attributes"]["try_count"])
        assert all(t["parent_id"] == root["span_id"] for t in tries)
        assert tries[-1]["span_id"] == up_parent and tries[-1]["status"] == 0
        assert tries[-1]["attributes"]["net.peer.port"] == upstream.port
        if len(tries) == 2:
            retried += 1
            failed = tries[0]
            assert failed["status"] == ERROR
            assert failed["attributes"]["net.peer.port"] == dead
            assert failed["end"] <= tries[1]["start"]
    assert retried >= 1, "round-robin never started on the dead target"


def test_the_answering_try_lasts_until_the_answer_is_through(node, collector):
    """As Kong: the try that answered lasts until the answer went through
    (the wait for a slow upstream included); a failed try ends with its
    connection attempt (test_balancer_tries_with_a_failed_one)."""
    node.route("/oslow", otel(collector, sampling_rate=1))
    node.wait_sync()
    trace_id = secrets.token_hex(16)
    resp = proxy(node).get("/oslow", params={"delay": "0.4"}, headers={
        "traceparent": traceparent(trace_id, secrets.token_hex(8))})
    assert resp.status_code == 200

    def found(posts):
        got = {s["name"]: s for s in otlp_spans(posts) if s["trace_id"] == trace_id}
        return got if {"kong", "kong.balancer"} <= set(got) else None
    spans = collector.wait_for(found)
    assert spans, otlp_spans(collector.received())
    root, balancer = spans["kong"], spans["kong.balancer"]
    assert root["end"] - root["start"] >= 400_000_000
    assert root["start"] <= balancer["start"] < balancer["start"] + 400_000_000 <= balancer["end"]
    assert balancer["end"] == root["end"]


def test_sampling(node, collector):
    node.route("/never", otel(collector, sampling_rate=0))
    node.route("/always", otel(collector, sampling_rate=1))
    node.wait_sync()
    unsampled = []
    for _ in range(5):
        # the client's sampled flag does not override a rate of 0
        resp = proxy(node).get("/never", headers={
            "traceparent": traceparent(secrets.token_hex(16), secrets.token_hex(8))})
        up = resp.json()["headers"]["traceparent"].split("-")
        assert up[3] == "00"  # Kong writes its own decision, not the client's flags
        unsampled.append(up[1])
        resp = proxy(node).get("/never")
        up = resp.json()["headers"]["traceparent"].split("-")
        assert up[3] == "00"
        unsampled.append(up[1])
    sampled = []
    for _ in range(5):
        resp = proxy(node).get("/always")
        up = resp.json()["headers"]["traceparent"].split("-")
        assert up[3] == "01"
        sampled.append(up[1])
    for trace_id in sampled:
        spans_of(collector, trace_id)
    exported = {s["trace_id"] for s in otlp_spans(collector.received())}
    assert not exported & set(unsampled)


def test_collector_down_costs_nothing(node, collector):
    node.route("/down", otel(collector, traces_endpoint=f"http://127.0.0.1:{free_port()}/v1",
                             queue={"max_coalescing_delay": 0.1, "max_retry_time": 0}))
    node.wait_sync()
    started = time.monotonic()
    for _ in range(20):
        assert proxy(node).get("/down").status_code == 200
    # reported, at a bounded rate: the queue's first failure, then at most
    # one report per queue and interval however many batches fail
    deadline = time.monotonic() + 5
    while "[otel] failed to connect" not in node.error_log_tail(400):
        assert time.monotonic() < deadline, node.error_log_tail(400)
        time.sleep(0.1)
    for _ in range(20):
        assert proxy(node).get("/down").status_code == 200
    time.sleep(0.5)
    log = node.error_log_tail(400)
    # the queue warns once per 10 s per queue, in each of the 2 workers
    windows = int((time.monotonic() - started) // 10) + 1
    assert 1 <= log.count("[otel] failed to connect") <= 2 * windows, log


def test_propagation_only_with_tracing_off(start_node, upstream, collector):
    gw = start_node()
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/off", otel(collector, sampling_rate=1,
                          propagation={"extract": ["b3"], "inject": ["w3c", "b3-single"],
                                       "clear": ["x-b3-sampled"], "default_format": "w3c"}))
    gw.wait_sync()
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    resp = proxy(gw).get("/off", headers={"x-b3-traceid": trace_id, "x-b3-spanid": parent,
                                          "x-b3-sampled": "1"})
    headers = resp.json()["headers"]
    _, up_trace, up_parent, flags = headers["traceparent"].split("-")
    assert up_trace == trace_id and up_parent != parent and flags == "00"
    # b3's parent: the span the client named (our root's parent)
    assert headers["b3"] == f"{trace_id}-{up_parent}-0-{parent}"
    assert "x-b3-sampled" not in headers
    # nothing is exported: the span exists for propagation alone
    resp = proxy(gw).get("/off")
    assert resp.json()["headers"]["traceparent"].split("-")[1] != trace_id
    assert not [s for s in otlp_spans(collector.received()) if s["trace_id"] == trace_id]


def test_dns_span(node, collector, upstream):
    node.create("/services", {"name": "byname", "url": f"http://localhost:{upstream.port}"})
    node.route("/byname", otel(collector, sampling_rate=1), service="byname")
    node.wait_sync()
    trace_id = secrets.token_hex(16)
    resp = proxy(node).get("/byname", headers={
        "traceparent": traceparent(trace_id, secrets.token_hex(8))})
    assert resp.status_code == 200
    spans = {s["name"]: s for s in spans_of(collector, trace_id, last="kong.balancer")}
    dns = spans["kong.dns"]
    assert dns["parent_id"] == spans["kong"]["span_id"] and dns["kind"] == CLIENT
    assert dns["attributes"] == {"dns.record.domain": "localhost",
                                 "dns.record.port": upstream.port,
                                 "dns.record.ip": "127.0.0.1"}


def test_unreachable_upstream(node, collector):
    dead = free_port()
    node.create("/services", {"name": "dead", "url": f"http://127.0.0.1:{dead}", "retries": 0})
    node.route("/dead", otel(collector, sampling_rate=1), service="dead")
    node.wait_sync()
    trace_id = secrets.token_hex(16)
    resp = proxy(node).get("/dead", headers={
        "traceparent": traceparent(trace_id, secrets.token_hex(8))})
    assert resp.status_code == 502
    spans = {s["name"]: s for s in spans_of(collector, trace_id, last="kong.balancer")}
    assert spans["kong"]["attributes"]["http.status_code"] == 502
    balancer = spans["kong.balancer"]
    assert balancer["attributes"]["net.peer.port"] == dead
    assert balancer["parent_id"] == spans["kong"]["span_id"]


def test_request_instrumentation_only(start_node, upstream, collector):
    gw = start_node(workers=1, tracing_instrumentations="request")
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/root", otel(collector, sampling_rate=1))
    gw.wait_sync()
    trace_id = secrets.token_hex(16)
    resp = proxy(gw).get("/root", headers={
        "traceparent": traceparent(trace_id, secrets.token_hex(8))})
    up_parent = resp.json()["headers"]["traceparent"].split("-")[2]
    spans_of(collector, trace_id)
    time.sleep(0.3)  # a later batch would bring any other span
    spans = spans_of(collector, trace_id)
    # no balancer span: the upstream's parent is the request's root
    assert [s["name"] for s in spans] == ["kong"] and spans[0]["span_id"] == up_parent


def test_ratio_sampler_on_64_bit_trace_ids(node, collector):
    node.route("/half", otel(collector, sampling_rate=0.5, propagation={
        "extract": ["b3"], "inject": ["w3c"], "default_format": "w3c"}))
    node.wait_sync()
    decisions = set()
    for _ in range(12):
        trace_id = secrets.token_hex(8)
        resp = proxy(node).get("/half", headers={"x-b3-traceid": trace_id,
                                                 "x-b3-spanid": secrets.token_hex(8)})
        assert resp.status_code == 200
        up = resp.json()["headers"]["traceparent"].split("-")
        # a 64-bit trace id continues, padded to W3C's 128 bits
        assert up[1] == "0" * 16 + trace_id
        decisions.add(up[3])
    assert decisions == {"00", "01"}
