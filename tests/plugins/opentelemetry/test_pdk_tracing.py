"""kong.tracing as a plugin sees it (the tracing-probe fixture plugin), with
the spans exported by opentelemetry: its own spans nest under the plugin's
phase span, carry their attributes, events and status; with
tracing_instrumentations off kong.tracing is Kong's no-op tracer."""
from __future__ import annotations

import secrets
from pathlib import Path

from tests.helpers.http import proxy
from tests.helpers.trace_collectors import Collector, otlp_spans

FIXTURE_PLUGINS = Path(__file__).resolve().parents[2] / "fixtures" / "plugins"


def node_with_probe(start_node, upstream, collector, **settings):
    gw = start_node(workers=1, plugins="bundled, tracing-probe",
                    plugins_path=str(FIXTURE_PLUGINS), **settings)
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/probe", {"name": "tracing-probe"}, {"name": "opentelemetry", "config": {
        "traces_endpoint": collector.url("/v1/traces"), "sampling_rate": 1,
        "queue": {"max_coalescing_delay": 0.1}}})
    gw.wait_sync()
    return gw


def test_plugin_spans(start_node, upstream):
    collector = Collector().start()
    try:
        gw = node_with_probe(start_node, upstream, collector, tracing_instrumentations="all")
        trace_id = secrets.token_hex(16)
        resp = proxy(gw).get("/probe", headers={
            "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
        assert resp.status_code == 200
        assert resp.headers["X-Probe-Tracer"] == "instrument"
        assert resp.headers["X-Probe-Active-Restored"] == "true"
        assert resp.headers["X-Probe-Sampling"] == "true"

        def found(posts):
            spans = {s["name"]: s for s in otlp_spans(posts) if s["trace_id"] == trace_id}
            return spans if "probe.inner" in spans and "kong" in spans else None
        spans = collector.wait_for(found)
        assert spans, otlp_spans(collector.received())
        phase = spans["kong.access.plugin.tracing-probe"]
        assert phase["parent_id"] == spans["kong"]["span_id"]
        work = spans["probe.work"]
        assert work["parent_id"] == phase["span_id"] and work["kind"] == 4
        assert work["attributes"] == {"probe.n": 42}
        assert work["events"] == ["probe.event", "exception"] and work["status"] == 2
        assert spans["probe.inner"]["parent_id"] == work["span_id"]
        assert phase["start"] <= work["start"] <= work["end"] <= phase["end"]
        # the propagation module's formatted trace ids, as Kong serializes them
        assert f'serialized trace_id: {{"w3c":"{trace_id}"}}' in gw.error_log_tail(200)
    finally:
        collector.stop()


def test_noop_tracer_when_off(start_node, upstream):
    collector = Collector().start()
    try:
        gw = node_with_probe(start_node, upstream, collector)
        resp = proxy(gw).get("/probe")
        assert resp.status_code == 200, (resp.text, gw.error_log_tail())
        assert resp.headers["X-Probe-Tracer"] == "noop"
        assert resp.headers["X-Probe-Active-Restored"] == "true"
        # the propagation-only span of opentelemetry: never sampled, never sent
        assert resp.json()["headers"]["traceparent"].endswith("-00")
        assert collector.received() == []
    finally:
        collector.stop()
