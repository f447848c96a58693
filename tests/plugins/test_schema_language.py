"""Kong's schema language through a live node's Admin API: the schema-probe
fixture plugin (tests/fixtures/plugins/kong/plugins/schema-probe/) has a field
or an entity check for each feature; each bad config gets Kong's message."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
# the smallest valid config: one of first/second, exactly one of third/fourth
BASE = {"first": "x", "third": "y", "doc": {"n": 1}}
AT_LEAST_ONE = "at least one of these fields must be non-empty: 'first', 'second'"
EXACTLY_ONE = "exactly one of these fields must be non-empty: 'third', 'fourth'"


@pytest.fixture(scope="module")
def gateway(start_node):
    # the environment the node starts with holds what {vault://env/probe} names
    os.environ["PROBE"] = "probe-value"
    try:
        return start_node(plugins="bundled, schema-probe", plugins_path=str(FIXTURE_PLUGINS))
    finally:
        del os.environ["PROBE"]


def _refused(gw, config: dict) -> dict:
    body = admin(gw).post("/plugins", {"name": "schema-probe",
                                       "config": {**BASE, **config}}, 400)
    assert body["name"] == "schema violation" and body["code"] == 2
    return body["fields"]


@pytest.mark.parametrize("config,errors", [
    # types
    ({"count": "x"}, {"count": "expected an integer"}),
    ({"ratio": "x"}, {"ratio": "expected a number"}),
    ({"flag": "yes"}, {"flag": "expected a boolean"}),
    ({"label": 5}, {"label": "expected a string"}),
    ({"words": "a"}, {"words": "expected an array"}),
    ({"numbers": 1}, {"numbers": "expected a set"}),
    ({"limits": 1}, {"limits": "expected a map"}),
    ({"pair": "x"}, {"pair": "expected a record"}),
    # validators
    ({"mode": "z"}, {"mode": "expected one of: a, b, c"}),
    ({"count": 12}, {"count": "value should be between 1 and 10"}),
    ({"ratio": 0}, {"ratio": "value must be greater than 0"}),
    ({"label": "ab"}, {"label": "length must be at least 3"}),
    ({"label": "abcdef"}, {"label": "length must be at most 5"}),
    ({"label": "AB1"}, {"label": "invalid value: AB1"}),
    ({"label": "badx"}, {"label": "invalid value: badx"}),
    ({"path": "x"}, {"path": "should start with: /"}),
    ({"code": "abc"}, {"code": "must start with an upper-case letter"}),
    ({"code": "Abc"}, {"code": "must end with a digit"}),
    ({"color": "green"}, {"color": "must be red or blue"}),
    ({"ref": "nope"}, {"ref": "expected a valid UUID"}),
    ({"at": -5}, {"at": "expected a valid timestamp"}),
    ({"count": 3}, {"count": "must be even"}),
    ({"words": ["a", "b", "c"]}, {"words": "length must be at most 2"}),
    ({"words": ["a", ""]}, {"words": [None, "length must be at least 1"]}),
    ({"numbers": [1, "x"]}, {"numbers": [None, "expected an integer"]}),
    ({"limits": {"a": 0}}, {"limits": "value must be greater than 0"}),
    ({"doc": {"m": 1}}, {"doc": "property n is required"}),
    ({"unknown": 1}, {"unknown": "unknown field"}),
    # typedefs
    ({"port": 70000}, {"port": "value should be between 0 and 65535"}),
    ({"host": "bad host"}, {"host": "invalid value: bad host"}),
    ({"url": "nope"}, {"url": "missing host in url"}),
    ({"header": "bad header"}, {"header": "bad header name 'bad header', allowed characters "
                                          "are A-Z, a-z, 0-9, '_', and '-'"}),
    ({"net": "1.2.3.4/99"}, {"net": "invalid ipv4 cidr range: '1.2.3.4/99'"}),
    ({"ip": "300.1.1.1"}, {"ip": "not an ip address: 300.1.1.1"}),
    ({"functions": {"f": "return ("}},
     {"functions": "Error parsing function: [string \"return (\"]:1: "
                   "unexpected symbol near '<eof>'"}),
    ({"redis": {"port": "x"}}, {"redis": {"port": "expected an integer"}}),
    # checks inside a record
    ({"pair": {"a": "x"}},
     {"pair": {"@entity": ["all or none of these fields must be set: 'a', 'b'"]}}),
])
def test_field_errors(gateway, config, errors):
    assert _refused(gateway, config) == {"config": errors}


@pytest.mark.parametrize("config,errors", [
    ({"first": None}, {"@entity": [AT_LEAST_ONE]}),
    ({"fourth": "z"}, {"@entity": [EXACTLY_ONE]}),
    ({"third": None}, {"@entity": [EXACTLY_ONE]}),
    ({"ratio": 1, "at": 5},
     {"@entity": ["only one or none of these fields must be set: 'ratio', 'at'"]}),
    ({"mode": "b"}, {"@entity": ["failed conditional validation given value of field 'mode'"],
                     "count": "required field missing"}),
    ({"mode": "c"}, {"@entity": ["at least one of these fields must be non-empty: "
                                 "'label', 'path'"]}),
    ({"count": 10, "ratio": 20}, {"@entity": ["count times ratio exceeds 100"]}),
])
def test_entity_checks(gateway, config, errors):
    assert _refused(gateway, config) == {"config": errors}


def test_messages_and_plugin_level_fields(gateway, svc):
    body = admin(gateway).post("/plugins", {"name": "schema-probe", "config": {
        **BASE, "mode": "z", "count": 12}}, 400)
    assert body["message"] == ("2 schema violations (config.count: value should be between "
                               "1 and 10; config.mode: expected one of: a, b, c)")
    consumer = admin(gateway).post("/consumers", {"username": "probe-consumer"})
    body = admin(gateway).post("/plugins", {"name": "schema-probe", "config": BASE,
                                            "consumer": {"id": consumer["id"]}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
    body = admin(gateway).post("/plugins", {"name": "schema-probe", "config": BASE,
                                            "protocols": ["tcp"]}, 400)
    assert body["fields"] == {"protocols": ["expected one of: grpc, grpcs, http, https"]}


def test_defaults_shorthands_and_references_reach_the_data_plane(gateway, svc):
    gw = gateway
    route = gw.route("/probe-schema")
    plugin = admin(gw).post(f"/routes/{route['id']}/plugins", {"name": "schema-probe", "config": {
        **BASE, "old_name": "legacy", "numbers": [3, 1, 3], "secret": "{vault://env/probe}",
        "limits": {"a": 1}}})
    config = plugin["config"]
    assert (config["mode"], config["flag"], config["new_name"]) == ("a", False, "legacy")
    # the deprecated name translates back on reads, as in Kong
    assert config["old_name"] == "legacy"
    assert config["numbers"] == [3, 1]
    assert config["secret"] == "{vault://env/probe}"
    assert config["redis"]["port"] == 6379
    assert admin(gw).get(f"/plugins/{plugin['id']}")["config"] == config
    gw.wait_sync()
    resp = proxy(gw).get("/probe-schema")
    assert resp.status_code == 200, resp.text
    seen = json.loads(base64.b64decode(resp.json()["headers"]["x-schema-probe"]))
    assert seen == {"mode": "a", "flag": False, "new_name": "legacy", "redis_port": 6379,
                    "limits": {"a": 1}, "secret": "probe-value"}


def test_the_schema_endpoint_shows_kongs_json_form(gateway):
    schema = admin(gateway).get("/schemas/plugins/schema-probe")
    names = [next(iter(f)) for f in schema["fields"]]
    assert names[:2] == ["consumer", "protocols"] and "config" in names
    config = next(f["config"] for f in schema["fields"] if "config" in f)
    fields = {next(iter(f)): f[next(iter(f))] for f in config["fields"]}
    assert fields["mode"] == {"type": "string", "required": True, "default": "a",
                              "one_of": ["a", "b", "c"]}
    assert fields["count"]["between"] == [1, 10]
    assert fields["secret"]["encrypted"] is True and fields["secret"]["referenceable"] is True
    assert {"at_least_one_of": ["first", "second"]} in config["entity_checks"]
    assert config["shorthand_fields"][0]["old_name"]["translate_backwards"] == ["new_name"]
    ok = admin(gateway).post("/schemas/plugins/validate",
                             {"name": "schema-probe", "config": BASE}, 200)
    assert ok == {"message": "schema validation successful"}
