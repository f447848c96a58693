"""http-log's configuration through the Admin API: Kong 3.9's defaults and
messages."""
from __future__ import annotations

from tests.helpers.http import admin

QUEUE_DEFAULTS = {"max_batch_size": 1, "max_coalescing_delay": 1, "max_entries": 10000,
                  "max_bytes": None, "max_retry_time": 60, "initial_retry_delay": 0.01,
                  "max_retry_delay": 60, "concurrency_limit": 1}


def config_errors(api, config: dict) -> dict:
    body = api.post("/plugins", {"name": "http-log", "config": config}, 400)
    assert body["name"] == "schema violation"
    return body["fields"]


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "http-log", "config": {
        "http_endpoint": "http://collector.test:9000/logs"}})
    assert plugin["config"] == {
        "http_endpoint": "http://collector.test:9000/logs", "method": "POST",
        "content_type": "application/json", "timeout": 10000, "keepalive": 60000,
        "retry_count": None, "queue_size": None, "flush_timeout": None, "headers": None,
        "queue": QUEUE_DEFAULTS, "custom_fields_by_lua": None}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_messages(client):
    api = admin(client)
    assert config_errors(api, {}) == {"config": {"http_endpoint": "required field missing"}}
    assert config_errors(api, {"http_endpoint": "not a url"}) == {"config": {
        "http_endpoint": "missing host in url"}}
    assert config_errors(api, {"http_endpoint": "http://c.test", "method": "GET"}) == {
        "config": {"method": "expected one of: POST, PUT, PATCH"}}
    errors = config_errors(api, {"http_endpoint": "http://c.test", "content_type": "text/plain"})
    assert errors == {"config": {"content_type": "expected one of: application/json, "
                                                 "application/json; charset=utf-8"}}
    errors = config_errors(api, {"http_endpoint": "http://c.test",
                                 "queue": {"max_batch_size": 0}})
    assert errors == {"config": {"queue": {
        "max_batch_size": "value should be between 1 and 1000000"}}}
    for name, message in (("Host", "cannot contain 'Host' header"),
                          ("content-length", "cannot contain 'Content-Length' header"),
                          ("coNTEnt-Type", "cannot contain 'Content-Type' header")):
        assert config_errors(api, {"http_endpoint": "http://c.test",
                                   "headers": {name: "x"}}) == {"config": {"headers": message}}
    errors = config_errors(api, {"http_endpoint": "http://c.test", "headers": {"X-Empty": ""}})
    assert errors == {"config": {"headers": "length must be at least 1"}}
    assert config_errors(api, {"http_endpoint": "http://u:p@c.test/path",
                               "headers": {"AuthoRIZATion": "Basic x"}}) == {
        "config": "specifying both an 'Authorization' header and user info in "
                  "'http_endpoint' is not allowed"}
    assert config_errors(api, {"http_endpoint": "http://c.test",
                               "custom_fields_by_lua": {"x": "return ("}})["config"][
        "custom_fields_by_lua"]


def test_accepted(client):
    api = admin(client)
    plugin = api.post("/plugins", {"name": "http-log", "config": {
        "http_endpoint": "https://u:p@c.test/path", "method": "PATCH",
        "headers": {"X-Token": "t"}, "queue": {"max_batch_size": 50},
        "custom_fields_by_lua": {"region": "return 'eu'"},
        # deprecated, still accepted (and warned about)
        "retry_count": 3, "queue_size": 5, "flush_timeout": 4}})
    assert plugin["config"]["queue"]["max_batch_size"] == 50
    assert plugin["config"]["queue_size"] == 5
