"""Kong 3.9's schema, Admin API and shorthand-field scenarios of both
rate-limiting plugins (spec/03-plugins/23-rate-limiting/01, 03, 06 and
24-response-rate-limiting/01, 03, 06), through the Admin API."""
from __future__ import annotations

import uuid

import pytest

from tests.helpers.http import admin

AT_LEAST_ONE = ("at least one of these fields must be non-empty: 'config.second', "
                "'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'")
LEGACY = {"redis_host": "custom-host.example.test", "redis_port": 55000,
          "redis_username": "test1", "redis_password": "testX", "redis_database": 1,
          "redis_timeout": 1100, "redis_ssl": True, "redis_ssl_verify": True,
          "redis_server_name": "example.test"}


def _violation(client, name: str, config: dict | None) -> dict:
    return admin(client).plugin(name, config, 400)


@pytest.mark.parametrize("config", [
    {"second": 10}, {"second": 10, "minute": 20, "hour": 30, "day": 40, "month": 50, "year": 60},
    {"second": 10, "limit_by": "header", "header_name": "X-App-Version"},
    {"second": 10, "limit_by": "path", "path": "/request"},
])
def test_rate_limiting_proper_config_validates(client, config):
    assert admin(client).plugin("rate-limiting", config)["config"]["second"] == 10


def test_rate_limiting_schema_errors(client):
    body = _violation(client, "rate-limiting", {"second": 20, "hour": 10})
    assert body["fields"]["config"] == ("The limit for hour(10.0) cannot be lower than the "
                                        "limit for second(20.0)")
    body = _violation(client, "rate-limiting", {"second": 10, "minute": 20, "hour": 30,
                                                "day": 40, "month": 60, "year": 50})
    assert body["fields"]["config"] == ("The limit for year(50.0) cannot be lower than the "
                                        "limit for month(60.0)")
    body = _violation(client, "rate-limiting", {"second": 10, "limit_by": "header"})
    assert body["fields"]["config"]["header_name"] == "required field missing"
    body = _violation(client, "rate-limiting", {"second": 10, "limit_by": "path"})
    assert body["fields"]["config"]["path"] == "required field missing"
    # Kong 3.9's open-source schema offers no consumer-group
    body = _violation(client, "rate-limiting", {"second": 10, "limit_by": "consumer-group"})
    assert body["fields"] == {"config": {"limit_by": "expected one of: consumer, credential, "
                                                     "ip, service, header, path"}}


def test_rate_limiting_api_empty_config_and_default_policy(client):
    body = _violation(client, "rate-limiting", None)
    assert body == {"code": 2, "name": "schema violation",
                    "fields": {"@entity": [AT_LEAST_ONE]},
                    "message": f"schema violation ({AT_LEAST_ONE})"}
    config = admin(client).plugin("rate-limiting", {"second": 10})["config"]
    assert (config["second"], config["policy"]) == (10, "local")


def _same_redis(expected: dict, config: dict) -> None:
    for flat, value in expected.items():
        assert config["redis"][flat[len("redis_"):]] == value, flat
        assert config[flat] == value, flat


@pytest.mark.parametrize("name,limits", [
    ("rate-limiting", {"minute": 100}),
    ("response-ratelimiting", {"limits": {"video": {"minute": 100}}}),
])
def test_shorthand_fields_post_patch_get_put(client, name, limits):
    api = admin(client)
    plugin_id = str(uuid.uuid4())
    config = {**limits, "policy": "redis", **LEGACY}
    body = api.post("/plugins", {"id": plugin_id, "name": name, "config": config})
    _same_redis(LEGACY, body["config"])
    body = api.patch(f"/plugins/{plugin_id}", {"name": name,
                                               "config": {"redis_host": "testhost"}})
    patched = dict(LEGACY, redis_host="testhost")
    _same_redis(patched, body["config"])
    _same_redis(patched, api.get(f"/plugins/{plugin_id}")["config"])
    api.delete(f"/plugins/{plugin_id}")
    body = api.put(f"/plugins/{plugin_id}", {"name": name, "config": config})
    _same_redis(LEGACY, body["config"])
    api.delete(f"/plugins/{plugin_id}")
    # the new structure alone: the deprecated defaults do not overwrite it
    redis = {"host": "localhost", "port": 6379, "username": "test1", "password": "testX",
             "database": 1, "timeout": 1100, "ssl": True, "ssl_verify": True,
             "server_name": "example.test"}
    body = api.post("/plugins", {"name": name, "config": {**limits, "policy": "redis",
                                                          "redis": redis}})
    assert body["config"]["redis"] == redis


def test_shorthand_fields_in_collections(client):
    api = admin(client)
    base = 55000
    for i in range(1, 61):
        route = api.post("/routes", {"name": f"route-{i}", "hosts": [f"redis{i}.test"]})
        api.post("/plugins", {"name": "rate-limiting", "route": {"id": route["id"]},
                              "config": {"minute": 100 + i, "policy": "redis",
                                         **dict(LEGACY, redis_port=base + i,
                                                redis_host=f"custom-host{i}.example.test",
                                                redis_server_name=f"example{i}.test")}})

    def check(data: list) -> None:
        assert data
        for plugin in data:
            i = plugin["config"]["redis"]["port"] - base
            _same_redis(dict(LEGACY, redis_port=base + i,
                             redis_host=f"custom-host{i}.example.test",
                             redis_server_name=f"example{i}.test"), plugin["config"])

    check(api.get("/plugins")["data"])
    page = api.get("/plugins?size=50")
    assert len(page["data"]) == 50 and page["next"]
    check(page["data"])
    check(api.get("/routes/route-1/plugins?size=50")["data"])


def test_response_ratelimiting_schema_and_api(client):
    name = "response-ratelimiting"
    for config in ({"limits": {"video": {"second": 1}}},
                   {"limits": {"video": {"second": 1, "minute": 2, "hour": 3, "day": 4,
                                         "month": 5, "year": 6}}},
                   {"limits": {"video": {"second": None, "minute": 1}}}):
        plugin = admin(client).plugin(name, config)
        assert plugin["config"]["limits"]["video"]
        admin(client).delete(f"/plugins/{plugin['id']}")
    body = _violation(client, name, None)
    assert body == {"code": 2, "name": "schema violation",
                    "fields": {"config": {"limits": "required field missing"}},
                    "message": "schema violation (config.limits: required field missing)"}
    assert _violation(client, name, {"limits": {}})["fields"] == {
        "config": {"limits": "length must be at least 1"}}
    body = _violation(client, name, {"limits": {"video": {"seco": 1}}})
    assert body["fields"]["config"]["limits"]["seco"] == "unknown field"
    assert _violation(client, name, {"limits": {"video": {"second": 2, "minute": 1}}})[
        "fields"] == {"config": {"limits": "the limit for minute(1.0) cannot be lower than "
                                           "the limit for second(2.0)"}}
    body = _violation(client, name, {"limits": {"video": {
        "second": 1, "minute": 2, "hour": 3, "day": 4, "month": 6, "year": 5}}})
    assert body["fields"] == {"config": {"limits": "the limit for year(5.0) cannot be lower "
                                                   "than the limit for month(6.0)"}}
    assert _violation(client, name, {"limits": {"second": 10}})["fields"] == {
        "config": {"limits": "expected a record"}}
