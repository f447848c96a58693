"""proxy-cache's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin

DEFAULTS = {
    "response_code": [200, 301, 404], "request_method": ["GET", "HEAD"],
    "content_type": ["text/plain", "application/json"], "cache_ttl": 300,
    "strategy": "memory", "cache_control": False, "ignore_uri_case": False,
    "storage_ttl": None, "memory": {"dictionary_name": "kong_db_cache"},
    "vary_query_params": None, "vary_headers": None,
    "response_headers": {"Age": True, "X-Cache-Status": True, "X-Cache-Key": True},
}


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "proxy-cache",
                                             "config": {"strategy": "memory"}})
    assert plugin["config"] == DEFAULTS
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_strategy_required_and_known(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "proxy-cache"}, 400)
    assert body["fields"] == {"config": {"strategy": "required field missing"}}
    body = api.post("/plugins", {"name": "proxy-cache", "config": {"strategy": "redis"}}, 400)
    assert body["fields"] == {"config": {"strategy": "expected one of: memory"}}


def test_missing_shared_dict(client):
    body = admin(client).post("/plugins", {"name": "proxy-cache", "config": {
        "strategy": "memory", "memory": {"dictionary_name": "no_such_dict"}}}, 400)
    assert body["fields"] == {"@entity": ["missing shared dict 'no_such_dict'"]}
    # the node's own dictionaries exist
    admin(client).post("/plugins", {"name": "proxy-cache", "config": {
        "strategy": "memory", "memory": {"dictionary_name": "kongpy_cache"}}})


def test_field_checks(client):
    api = admin(client)
    for config, fields in [
        ({"cache_ttl": 0}, {"cache_ttl": "value must be greater than 0"}),
        ({"response_code": []}, {"response_code": "length must be at least 1"}),
        ({"response_code": [99]}, {"response_code": ["value should be between 100 and 900"]}),
        ({"request_method": ["DELETE"]},
         {"request_method": ["expected one of: HEAD, GET, POST, PATCH, PUT"]}),
    ]:
        body = api.post("/plugins", {"name": "proxy-cache",
                                     "config": {"strategy": "memory", **config}}, 400)
        assert body["fields"] == {"config": fields}, body


def test_endpoints_without_a_node(client):
    # no instance: nothing to find, nothing to purge
    api = admin(client)
    assert api.get("/proxy-cache/abc", status=404) == {"message": "Not found"}
    api.request("DELETE", "/proxy-cache", status=204)
    assert api.get("/proxy-cache/6d0f8a1c-6f5c-4c3f-9f0e-8f3c9a6f2b11/caches/abc",
                   status=404) == {"message": "Not found"}


def test_kong_schema_scenarios(client):
    api = admin(client)
    base = {"strategy": "memory", "cache_ttl": 600, "request_method": ["GET"],
            "content_type": ["text/json"]}
    plugin = api.post("/plugins", {"name": "proxy-cache",
                                   "config": {**base, "response_code": [123, 200]}})
    assert plugin["config"]["response_code"] == [123, 200]
    for codes, message in (([], "length must be at least 1"),
                           ([True, "alo", 123], ["expected an integer", "expected an integer"]),
                           ([90], ["value should be between 100 and 900"])):
        body = api.post("/plugins", {"name": "proxy-cache", "config": {
            **base, "request_method": "GET", "content_type": "text/json",
            "response_code": codes}}, 400)
        assert body["fields"]["config"]["response_code"] == message, body
