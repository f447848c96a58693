"""prometheus's configuration through the Admin API (Kong 3.9's schema), and
the Admin API's /metrics route."""
from __future__ import annotations

from kongpy import conf
from kongpy.admin import create_app
from tests.helpers.http import admin

DEFAULTS = {"per_consumer": False, "status_code_metrics": False, "ai_metrics": False,
            "latency_metrics": False, "bandwidth_metrics": False,
            "upstream_health_metrics": False}


def test_defaults_and_switches(client):
    api = admin(client)
    plugin = api.post("/plugins", {"name": "prometheus"})
    assert plugin["config"] == DEFAULTS
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]
    api.post("/consumers", {"username": "bob"})
    scoped = api.post("/plugins", {"name": "prometheus", "consumer": {"username": "bob"},
                                   "config": {"per_consumer": True, "latency_metrics": True}})
    assert scoped["config"] == {**DEFAULTS, "per_consumer": True, "latency_metrics": True}


def test_ai_metrics_is_refused(client):
    body = admin(client).post("/plugins", {"name": "prometheus",
                                           "config": {"ai_metrics": True}}, 400)
    assert body["fields"] == {"config": {
        "ai_metrics": "ai_metrics cannot be enabled: kongpy has no AI plugins"}}


def test_stream_protocols_are_refused(client):
    body = admin(client).post("/plugins", {"name": "prometheus", "protocols": ["tcp"]}, 400)
    assert body["fields"] == {"protocols": ["expected one of: grpc, grpcs, http, https"]}


def test_unknown_field_and_types(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "prometheus", "config": {"per_service": True}}, 400)
    assert body["fields"] == {"config": {"per_service": "unknown field"}}
    body = api.post("/plugins", {"name": "prometheus",
                                 "config": {"status_code_metrics": "yes"}}, 400)
    assert body["fields"] == {"config": {"status_code_metrics": "expected a boolean"}}


def test_metrics_route_follows_the_plugin_set(tmp_path):
    base = {"prefix": str(tmp_path), "database": "sqlite",
            "sqlite_path": str(tmp_path / "k.db")}
    without = create_app(conf.load(env={}, overrides={**base, "plugins": "key-auth"}))
    resp = without.test_client().get("/metrics")
    assert (resp.status_code, resp.get_json()) == (404, {"message": "Not found"})
    with_it = create_app(conf.load(env={}, overrides={**base, "plugins": "prometheus"}))
    # no data plane to ask: Kong's 500, never an empty scrape
    resp = with_it.test_client().get("/metrics")
    assert (resp.status_code, resp.get_json()) == (500, {
        "message": "An unexpected error occurred"})
