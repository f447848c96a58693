"""``GET /openapi.json``: generated from the URL map and the schemas, so it
cannot drift from what the Admin API serves; its bodies accept what the
Admin API accepts and its error bodies are the ones it answers with."""
from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest

from kongpy.admin import close_app, create_app
from kongpy.admin.openapi import IGNORED_ENDPOINTS, document

VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
CONSUMER_ID = "7ef1c5d4-2a0e-4f4a-9f43-52d7c34a2a1e"
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def doc(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    return resp.get_json()


def _validator(doc: dict, ref: str) -> jsonschema_rs.Draft202012Validator:
    """A validator of one component, its $refs resolved in the document."""
    return jsonschema_rs.Draft202012Validator({**doc, "$ref": ref}, validate_formats=True)


def test_every_route_of_the_url_map_is_documented_and_nothing_else(app, doc):
    served = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        path = VARIABLE.sub(r"{\1}", rule.rule)
        served.setdefault(path, set()).update(
            m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(item) & METHODS for path, item in doc["paths"].items()}
    assert documented == served
    assert "/openapi.json" in documented and "/services/{services}/routes" in documented
    for path, item in doc["paths"].items():
        names = {p["name"] for p in item.get("parameters", ())}
        assert names == set(re.findall(r"{([^}]+)}", path)), path


def test_document_is_openapi_3_1(doc):
    assert doc["openapi"] == "3.1.0"
    ids = [op["operationId"] for item in doc["paths"].values()
           for method, op in item.items() if method in METHODS]
    assert len(ids) == len(set(ids))
    # Every $ref resolves.
    refs = re.findall(r'"\$ref": "#/components/(\w+)/([^"]+)"', json.dumps(doc))
    assert refs
    for section, name in refs:
        assert name in doc["components"][section], name


def test_every_entity_and_enabled_plugin_has_its_schemas(app, doc):
    db = app.extensions["kongpy"]["db"]
    schemas = doc["components"]["schemas"]
    for name, dao in db.daos.items():
        assert set(schemas[name]["properties"]) == set(dao.schema.field_map()), name
        assert f"{name}.page" in schemas and f"{name}.update" in schemas
    plugins = db.loaded_plugins
    assert {r["$ref"].rsplit("/", 1)[1] for r in schemas["plugins.create"]["oneOf"]} == {
        f"plugin.{name}.create" for name in plugins}
    for name, plugin in plugins.items():
        config = next(item["config"] for item in plugin.spec.describe()["fields"]
                      if "config" in item)
        own = {k for item in config["fields"] for k in item}
        assert own <= set(schemas[f"plugin.{name}.create"]["properties"]["config"]
                          ["properties"]), name
    ops = doc["paths"]["/consumers/{consumers}/key-auth"]
    assert ops["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/keyauth_credentials.create"}
    assert "custom_id" in {p["name"] for p in doc["paths"]["/consumers"]["get"]["parameters"]}


@pytest.mark.parametrize("ref, body, accepted", [
    ("services.create", {"host": "example.com"}, True),
    ("services.create", {"url": "http://example.com/x", "name": "s"}, True),
    ("services.create", {"name": "s"}, False),
    ("services.create", {"host": "h", "port": 70000}, False),
    ("services.create", {"host": "h", "nope": 1}, False),
    ("services.update", {"port": 81}, True),
    ("routes.create", {"paths": ["/a"], "service": {"id": "7ef1c5d4-2a0e-4f4a-9f43-52d7c34a2a1e"}},
     True),
    ("plugins.create", {"name": "key-auth"}, True),
    ("plugins.create", {"name": "key-auth", "config": {"key_names": ["k"]}}, True),
    ("plugins.create", {"name": "key-auth", "config": {"nope": 1}}, False),
    ("plugins.create", {"name": "nope"}, False),
    ("plugins.create", {"name": "key-auth", "config": {"key_names": "k"}}, False),
    ("plugins.create", {"name": "key-auth", "consumer": {"id": CONSUMER_ID}}, False),
    ("plugins.create", {"name": "acl", "config": {"allow": ["a"]}}, True),
    ("plugins.update", {"enabled": False}, True),
])
def test_request_bodies_describe_what_the_admin_api_accepts(client, doc, ref, body, accepted):
    valid = _validator(doc, f"#/components/schemas/{ref}").is_valid(body)
    assert valid == accepted
    # The server agrees (a route needs its service, the checks the server alone runs aside).
    if ref == "services.create":
        resp = client.post("/services", json=body)
        assert (resp.status_code == 201) == accepted, resp.get_json()
    if ref == "plugins.create":
        resp = client.post("/schemas/plugins/validate", json=body)
        assert (resp.status_code == 200) == accepted, resp.get_json()


def test_answers_match_the_documented_bodies(client, doc):
    schemas = doc["components"]["schemas"]
    created = client.post("/services", json={"name": "s1", "host": "h"})
    _validator(doc, "#/components/schemas/services").validate(created.get_json())
    page = client.get("/services")
    _validator(doc, "#/components/schemas/services.page").validate(page.get_json())
    plugin = client.post("/plugins", json={"name": "key-auth"}).get_json()
    _validator(doc, "#/components/schemas/plugins").validate(plugin)
    responses = doc["components"]["responses"]
    for code, resp in (("400", client.post("/services", json={"port": "x"})),
                       ("400", client.post("/services", data="{", content_type="application/json")),
                       ("409", client.post("/services", json={"name": "s1", "host": "h"})),
                       ("404", client.get("/services/nope")),
                       ("415", client.post("/services", data="x", content_type="text/plain"))):
        assert str(resp.status_code) == code
        schema = responses[code]["content"]["application/json"]["schema"]
        jsonschema_rs.Draft202012Validator({**doc, **schema}).validate(resp.get_json())
    assert schemas["Error"]["required"] == ["code", "name", "message"]


def test_token_authentication_is_declared_when_on(tmp_path):
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "p.db"),
              "prefix": str(tmp_path), "admin_auth": "token"}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    try:
        doc = document(application)
    finally:
        close_app(application)
    assert doc["security"] == [{"adminToken": []}]
    assert doc["components"]["securitySchemes"]["adminToken"]["name"] == "Kong-Admin-Token"
