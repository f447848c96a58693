"""opentelemetry's configuration through the Admin API: Kong 3.9's defaults,
the deprecated shorthand, and its schema errors."""
from __future__ import annotations

from tests.helpers.http import admin

ENDPOINT = "http://127.0.0.1:4318/v1/traces"


def test_defaults(client):
    config = admin(client).post("/plugins", {"name": "opentelemetry", "config": {
        "traces_endpoint": ENDPOINT}})["config"]
    assert config["queue"]["max_batch_size"] == 200
    assert config["propagation"] == {"extract": None, "clear": None, "inject": None,
                                     "default_format": "w3c"}
    assert (config["connect_timeout"], config["send_timeout"], config["read_timeout"],
            config["header_type"], config["sampling_rate"], config["logs_endpoint"]) == (
        1000, 5000, 5000, "preserve", None, None)


def test_endpoint_shorthand(client):
    config = admin(client).post("/plugins", {"name": "opentelemetry", "config": {
        "endpoint": ENDPOINT}})["config"]
    assert config["traces_endpoint"] == ENDPOINT and "endpoint" not in config


def test_schema_errors(client):
    api = admin(client)

    def fields(config: dict) -> dict:
        return api.post("/plugins", {"name": "opentelemetry", "config": config}, 400)["fields"]

    assert fields({}) == {"config": {"@entity": [
        "at least one of these fields must be non-empty: 'traces_endpoint', 'logs_endpoint'"]}}
    # logs are not exported: refused rather than accepted and dropped
    assert fields({"logs_endpoint": ENDPOINT}) == {"config": {"@entity": [
        "logs_endpoint is not supported by this gateway (traces only)"]}}
    assert fields({"traces_endpoint": ENDPOINT, "sampling_rate": 1.5}) == {"config": {
        "sampling_rate": "value should be between 0 and 1"}}
    assert fields({"traces_endpoint": ENDPOINT, "header_type": "zipkin"})["config"][
        "header_type"].startswith("expected one of: preserve, ignore, b3")
    assert fields({"traces_endpoint": ENDPOINT, "propagation": {
        "extract": ["b3-single"], "default_format": "w3c"}}) == {"config": {"propagation": {
            "extract": ["expected one of: w3c, b3, jaeger, ot, datadog, aws, gcp"]}}}
    assert fields({"traces_endpoint": ENDPOINT, "propagation": {"inject": ["w3c"]}}) == {
        "config": {"propagation": {"default_format": "required field missing"}}}
    assert fields({"traces_endpoint": ENDPOINT, "queue": {"max_batch_size": 0}}) == {
        "config": {"queue": {"max_batch_size": "value should be between 1 and 1000000"}}}
    assert fields({"traces_endpoint": "not a url"})["config"]["traces_endpoint"]
