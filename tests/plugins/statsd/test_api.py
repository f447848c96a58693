"""statsd's configuration through the Admin API: Kong 3.9's defaults (the 13
metrics) and schema messages."""
from __future__ import annotations

from tests.helpers.http import admin

METRIC_NAMES = ("kong_latency, latency, request_count, request_per_user, request_size, "
                "response_size, status_count, status_count_per_user, unique_users, "
                "upstream_latency, status_count_per_workspace, "
                "status_count_per_user_per_route, shdict_usage")


def test_defaults(client):
    config = admin(client).post("/plugins", {"name": "statsd"})["config"]
    metrics = config.pop("metrics")
    assert [(m["name"], m["stat_type"], m["sample_rate"]) for m in metrics] == [
        ("request_count", "counter", 1), ("latency", "timer", None),
        ("request_size", "counter", 1), ("status_count", "counter", 1),
        ("response_size", "counter", 1), ("unique_users", "set", None),
        ("request_per_user", "counter", 1), ("upstream_latency", "timer", None),
        ("kong_latency", "timer", None), ("status_count_per_user", "counter", 1),
        ("status_count_per_workspace", "counter", 1),
        ("status_count_per_user_per_route", "counter", 1), ("shdict_usage", "gauge", 1)]
    assert all(m["consumer_identifier"] is None and m["service_identifier"] is None
               and m["workspace_identifier"] is None for m in metrics)
    assert config.pop("queue") == {
        "max_batch_size": 1, "max_coalescing_delay": 1, "max_entries": 10000,
        "max_bytes": None, "max_retry_time": 60, "initial_retry_delay": 0.01,
        "max_retry_delay": 60, "concurrency_limit": 1}
    assert config == {
        "host": "localhost", "port": 8125, "prefix": "kong", "allow_status_codes": None,
        "udp_packet_size": 0, "use_tcp": False, "hostname_in_prefix": False,
        "consumer_identifier_default": "custom_id",
        "service_identifier_default": "service_name_or_host",
        "workspace_identifier_default": "workspace_id", "retry_count": None,
        "queue_size": None, "flush_timeout": None, "tag_style": None}


def _fields(client, config: dict) -> dict:
    return admin(client).post("/plugins", {"name": "statsd", "config": config}, 400)["fields"]


def test_messages(client):
    assert _fields(client, {"metrics": [{"name": "request_count", "stat_type": "counter"}]}) == {
        "config": {"metrics": [{
            "@entity": ["failed conditional validation given value of field 'stat_type'"],
            "sample_rate": "required field missing"}]}}
    assert _fields(client, {"metrics": [{"name": "bogus", "stat_type": "x",
                                         "sample_rate": 0}]}) == {
        "config": {"metrics": [{
            "name": "expected one of: " + METRIC_NAMES,
            "stat_type": "expected one of: counter, gauge, histogram, meter, set, timer",
            "sample_rate": "value must be greater than 0"}]}}
    fields = _fields(client, {"allow_status_codes": ["200", "2xx-300"],
                              "udp_packet_size": 70000, "tag_style": "graphite",
                              "consumer_identifier_default": "email"})
    assert fields == {"config": {
        "allow_status_codes": ["invalid value: 200", "invalid value: 2xx-300"],
        "consumer_identifier_default": "expected one of: consumer_id, custom_id, username",
        "tag_style": "expected one of: dogstatsd, influxdb, librato, signalfx",
        "udp_packet_size": "value should be between 0 and 65507"}}
    assert _fields(client, {"queue": {"max_batch_size": 0}}) == {
        "config": {"queue": {"max_batch_size": "value should be between 1 and 1000000"}}}
    plugin = admin(client).post("/plugins", {"name": "statsd", "config": {
        "allow_status_codes": ["200-299"], "tag_style": "signalfx", "queue_size": 5}})
    assert plugin["config"]["allow_status_codes"] == ["200-299"]
    assert plugin["config"]["queue_size"] == 5
