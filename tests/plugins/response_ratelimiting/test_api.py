"""response-ratelimiting: its config schema (Kong 3.9 messages)."""
from __future__ import annotations

from tests.helpers.http import admin

POLICY = "failed conditional validation given value of field 'config.policy'"


def test_response_ratelimiting_schema(client):
    api = admin(client)
    name = "response-ratelimiting"
    config = api.plugin(name, {"limits": {"videos": {"minute": 10}}})["config"]
    assert config["header_name"] == "x-kong-limit"
    assert config["limits"]["videos"]["minute"] == 10
    assert (config["policy"], config["limit_by"]) == ("local", "consumer")
    assert config["block_on_first_violation"] is False
    body = api.plugin(name, None, 400)
    assert body["fields"] == {"config": {"limits": "required field missing"}}
    body = api.plugin(name, {"limits": {"videos": {}}}, 400)
    # as in Kong, a map reports its first bad value's errors without the key
    assert body["fields"]["config"]["limits"]["@entity"] == [
        "at least one of these fields must be non-empty: 'second', 'minute', 'hour', "
        "'day', 'month', 'year'"]
    body = api.plugin(name, {"limits": {"v": {"second": 5, "minute": 1}}}, 400)
    assert body["fields"] == {"config": {
        "limits": "the limit for minute(1.0) cannot be lower than the limit for second(5.0)"}}
    body = api.plugin(name, {"limits": {"v": {"second": 5}}, "policy": "redis"}, 400)
    assert body["fields"] == {"@entity": [POLICY],
                              "config": {"redis": {"host": "required field missing"}}}
