"""Consumers and plugins through the Admin API (create_app test client); each
plugin's own entities: tests/plugins/<name>/test_api.py."""
from __future__ import annotations

import kongpy.plugins
from tests.helpers.http import admin

UUID = "5a0c1d39-1b2f-4a3e-9a27-7f0f8e3d8a11"


def test_consumers(client):
    api = admin(client)
    body = api.post("/consumers", {}, 400)
    assert body["fields"] == {"@entity": [
        "at least one of these fields must be non-empty: 'custom_id', 'username'"]}
    bob = api.post("/consumers", {"username": "bob", "custom_id": "b-1"})
    assert client.get("/consumers/bob").get_json() == bob
    assert client.get("/consumers?custom_id=b-1").get_json() == {"data": [bob], "next": None}
    assert client.get("/consumers?custom_id=zz").get_json() == {"data": [], "next": None}
    dup = api.post("/consumers", {"username": "bob"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{username=\"bob\"}'"
    assert client.put("/consumers/al", json={"custom_id": "a"}).get_json()["username"] == "al"


def test_plugin_errors(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "nope"}, 400)
    assert body["fields"] == {"name": "plugin 'nope' not enabled; add it to the "
                                      "'plugins' configuration property"}
    body = api.post("/plugins", {"name": "key-auth", "config": {"foo": 1}}, 400)
    assert body == {"code": 2, "name": "schema violation",
                    "message": "schema violation (config.foo: unknown field)",
                    "fields": {"config": {"foo": "unknown field"}}}
    api.post("/consumers", {"username": "bob"})
    body = api.post("/plugins", {"name": "basic-auth", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
    body = api.post("/plugins", {"name": "acl", "config": {}}, 400)
    # both checks speak, as in Kong 3.9 (its acl spec expects the same pair)
    assert body["fields"] == {"@entity": [
        "exactly one of these fields must be non-empty: 'config.allow', 'config.deny'",
        "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]}


def test_plugin_defaults_unique_and_patch(client):
    api = admin(client)
    svc = api.post("/services", {"name": "s", "host": "example.com"})
    plugin = api.post("/services/s/plugins", {"name": "key-auth"})
    assert plugin["service"] == {"id": svc["id"]}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]
    assert plugin["config"]["key_names"] == ["apikey"] and plugin["enabled"] is True
    dup = api.post("/plugins", {"name": "key-auth", "service": {"id": svc["id"]}}, 409)
    assert dup["fields"] == {"name": "key-auth", "route": None,
                             "service": {"id": svc["id"]}, "consumer": None}
    resp = client.patch(f"/plugins/{plugin['id']}", json={"config": {"realm": "kong"}})
    assert resp.get_json()["config"]["realm"] == "kong"
    assert resp.get_json()["config"]["key_names"] == ["apikey"]
    assert client.get(f"/services/s/plugins/{plugin['id']}").status_code == 200
    assert client.get(f"/plugins/{plugin['id']}/service").get_json()["id"] == svc["id"]
    form = client.post("/plugins", data={"name": "acl", "config.allow": "g",
                                         "config.hide_groups_header": "true",
                                         "instance_name": "acl-1"})
    assert form.status_code == 201, form.get_json()
    assert form.get_json()["config"]["hide_groups_header"] is True
    assert client.get("/plugins/acl-1").get_json()["name"] == "acl"
    root = client.get("/").get_json()["plugins"]
    assert root["enabled_in_cluster"] == ["acl", "key-auth"]
    assert client.delete("/services/s").status_code == 204
    assert [p["name"] for p in client.get("/plugins").get_json()["data"]] == ["acl"]


def test_plugin_schemas_and_enabled(client):
    enabled = client.get("/plugins/enabled").get_json()["enabled_plugins"]
    assert enabled == sorted(kongpy.plugins.bundled_names())
    assert {"acl", "basic-auth", "key-auth"} <= set(enabled)
    schema = client.get("/schemas/plugins/basic-auth").get_json()
    config = [fld for fld in schema["fields"] if "config" in fld][0]["config"]
    assert {"realm": {"type": "string", "required": True, "default": "service"}} \
        in config["fields"]
    assert client.get("/plugins/schema/basic-auth").get_json() == schema
    assert client.get("/schemas/plugins/x").get_json() == {"message": "No plugin named 'x'"}
    ok = client.post("/schemas/plugins/validate", json={"name": "key-auth"})
    assert ok.get_json() == {"message": "schema validation successful"}
    bad = client.post("/schemas/plugins/validate",
                      json={"name": "key-auth", "config": {"x": 1}})
    assert bad.status_code == 400
