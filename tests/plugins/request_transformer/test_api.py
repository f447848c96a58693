"""request-transformer's configuration through the Admin API (Kong 3.9's
defaults and messages)."""
from __future__ import annotations

from tests.helpers.http import admin

NAME = "request-transformer"
EMPTY = {"body": [], "headers": [], "querystring": []}


def _errors(client, config):
    body = admin(client).post("/plugins", {"name": NAME, "config": config}, 400)
    assert body["name"] == "schema violation"
    return body["fields"]["config"]


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": NAME})
    assert plugin["config"] == {
        "http_method": None, "remove": EMPTY, "rename": EMPTY,
        "replace": dict(EMPTY, uri=None), "add": EMPTY, "append": EMPTY}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_accepts_templates_and_values_with_colons(client):
    config = {"http_method": "POST",
              "add": {"headers": ["x-a:b:c", "x-t:$(headers['x-y'] or 'none')"],
                      "querystring": ["q:$(query_params.a)", "u:http://x"],
                      "body": ["b:$(uri_captures[1])#not-a-comment"]},
              "replace": {"uri": "/new/$(uri_captures.user)"},
              "rename": {"headers": ["x-old:x-new"]},
              "remove": {"headers": ["x-gone"], "body": ["anything goes"]}}
    plugin = admin(client).post("/plugins", {"name": NAME, "config": config})
    assert plugin["config"]["add"]["headers"] == ["x-a:b:c", "x-t:$(headers['x-y'] or 'none')"]
    assert plugin["config"]["replace"]["uri"] == "/new/$(uri_captures.user)"


def test_entries_without_a_value(client):
    fields = _errors(client, {"add": {"headers": ["nocolon"], "querystring": ["q"],
                                      "body": ["b:"]}})
    assert fields == {"add": {"headers": ["invalid value: nocolon"],
                              "querystring": ["key 'q' has no value"],
                              "body": ["key 'b' has no value"]}}


def test_a_template_that_does_not_compile(client):
    fields = _errors(client, {"append": {"querystring": ["ok:1", "q:$(a b)"]},
                              "replace": {"body": ["b:x $(1 +) y"]}})
    assert fields == {
        "append": {"querystring": [
            None, "value '$(a b)' is not in supported format, "
                  "error:[string \"TMP\"]:1: ')' expected near 'b'"]},
        "replace": {"body": [
            "value 'x $(1 +) y' is not in supported format, "
            "error:[string \"TMP\"]:1: unexpected symbol near ')'"]}}


def test_header_names(client):
    fields = _errors(client, {"remove": {"headers": ["bad header"]},
                              "add": {"headers": ["x y:1"]},
                              "rename": {"headers": ["x-a:x b", "x-c"]}})
    assert fields == {"remove": {"headers": ["'bad header' is not a valid header"]},
                      "add": {"headers": ["'x y' is not a valid header"]},
                      "rename": {"headers": ["'x b' is not a valid header",
                                             "invalid value: x-c"]}}


def test_http_method(client):
    assert _errors(client, {"http_method": "get"}) == {"http_method": "invalid value: get"}


def test_kong_api_scenarios(client):
    api = admin(client)
    plugin = api.post("/plugins", {"name": NAME, "config": {"remove": {
        "headers": ["just_a_key"], "body": ["just_a_key"], "querystring": ["just_a_key"]}}})
    assert plugin["config"]["remove"]["headers"] == ["just_a_key"]
    for action in ("add", "replace", "append"):
        fields = _errors(client, {action: {"headers": ["just_a_key"]}})
        assert fields == {action: {"headers": ["invalid value: just_a_key"]}}
    sections = ("body", "headers", "querystring")
    actions = ("remove", "rename", "replace", "add", "append")
    fields = _errors(client, {a: {s: None for s in sections} for a in actions})
    assert fields == {a: {s: "required field missing" for s in sections} for a in actions}
