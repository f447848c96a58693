"""DB-less nodes (``database = off``): conf, Kong's 405s, ``GET``/``POST /config``."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from kongpy import conf, dbless
from kongpy.admin import close_app, create_app
from kongpy.errors import ConfigError

from tests.helpers.keys import jwk_text, pem_pair, rsa_jwk

NODE_ID = "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10"
DOC = """_format_version: "3.0"
services:
- name: s1
  url: http://127.0.0.1:9/
  routes:
  - name: r1
    paths: [/a]
consumers:
- username: alice
  keyauth_credentials:
  - key: k1
"""
ONLY_DBLESS = ("this endpoint is only available when Kong is configured to not use "
               "a database")


def _conf(tmp_path, **settings):
    path = tmp_path / "kongpy.conf"
    values = {"prefix": str(tmp_path / "prefix"), **settings}
    path.write_text("".join(f"{k} = {v}\n" for k, v in values.items()))
    return conf.load(str(path))


def test_conf_accepts_off_and_makes_the_file_path_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = _conf(tmp_path, database="off", declarative_config="kong.yml")
    assert config["database"] == "off"
    assert config["declarative_config"] == str(tmp_path / "kong.yml")
    assert dbless.store_path(config) == os.path.join(config["prefix"], "dbless.db")


@pytest.mark.parametrize("settings, prop, fragment", [
    ({"declarative_config": "/x.yml"}, "declarative_config", "only used with database = off"),
    ({"declarative_config_string": "{}"}, "declarative_config_string",
     "only used with database = off"),
    ({"database": "off", "declarative_config": "/x.yml", "declarative_config_string": "{}"},
     "declarative_config_string", "cannot be used together with declarative_config"),
])
def test_conf_refuses_declarative_settings_it_would_ignore(tmp_path, settings, prop, fragment):
    with pytest.raises(ConfigError) as err:
        _conf(tmp_path, **settings)
    assert err.value.property == prop and fragment in err.value.message


@pytest.fixture
def client(tmp_path):
    config = {"database": "off", "prefix": str(tmp_path), "admin_listen": ["127.0.0.1:8001"]}
    changes: list = []
    app = create_app(config, node_id=NODE_ID, on_change=lambda: changes.append(1))
    test_client = app.test_client()
    test_client.changes = changes
    yield test_client
    close_app(app)


def _loaded(client, text=DOC):
    resp = client.post("/config", data={"config": text})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _names(client, path):
    return sorted(r.get("name") or r.get("username") for r in client.get(path).get_json()["data"])


def _unsupported(message):
    return {"code": 12, "name": "operation unsupported",
            "message": f"{message} when not using a database"}


@pytest.mark.parametrize("method, path, body, message", [
    ("post", "/services", {"name": "x", "url": "http://x"},
     "cannot create 'services' entities"),
    ("post", "/services/s1/routes", {"paths": ["/b"]}, "cannot create 'routes' entities"),
    ("put", "/services/s1", {"url": "http://x"},
     "cannot create or update 'services' entities by 'name'"),
    ("put", "/services/6f0a3a1e-0d7e-4b55-9a89-1c3f64b0a001", {"url": "http://x"},
     "cannot create or update 'services' entities"),
    ("patch", "/services/s1", {"retries": 1}, "cannot update 'services' entities by 'name'"),
    ("patch", "/routes/r1/service", {"retries": 1}, "cannot update 'services' entities"),
    ("delete", "/services/s1", None, "cannot remove 'services' entities by 'name'"),
    ("delete", "/services/absent", None, "cannot remove 'services' entities by 'name'"),
    ("delete", "/consumers/alice/key-auth/k1", None,
     "cannot remove 'keyauth_credentials' entities by 'key'"),
    ("post", "/consumers/alice/key-auth", {}, "cannot create 'keyauth_credentials' entities"),
    ("post", "/certificates", {}, "cannot create 'certificates' entities"),
])
def test_entity_writes_answer_kongs_405(client, method, path, body, message):
    _loaded(client)
    resp = getattr(client, method)(path, json=body) if body is not None \
        else getattr(client, method)(path)
    assert resp.status_code == 405
    assert resp.get_json() == _unsupported(message)
    assert _names(client, "/services") == ["s1"]


def test_reads_serve_the_loaded_configuration(client):
    body = _loaded(client)
    assert sorted(body) == ["consumers", "keyauth_credentials", "routes", "services"]
    (sid, service), = body["services"].items()
    assert service["id"] == sid and service["name"] == "s1"
    assert client.get("/services/s1").get_json()["id"] == sid
    assert client.get("/services/s1/routes").get_json()["data"][0]["name"] == "r1"
    assert client.get("/consumers/alice/key-auth").get_json()["data"][0]["key"] == "k1"
    assert client.changes


@pytest.mark.parametrize("kind", ["form", "json_field", "json_document", "yaml_body",
                                  "json_body_raw"])
def test_post_config_reads_every_form_kong_accepts(client, kind):
    doc = {"_format_version": "3.0", "services": [{"name": "s2", "url": "http://y"}]}
    text = json.dumps(doc)
    if kind == "form":
        resp = client.post("/config", data={"config": text})
    elif kind == "json_field":
        resp = client.post("/config", json={"config": "_format_version: '3.0'\n"
                                                      "services:\n- name: s2\n  url: http://y\n"})
    elif kind == "json_document":
        resp = client.post("/config", json=doc)
    elif kind == "yaml_body":
        yaml_text = "_format_version: '3.0'\nservices:\n- name: s2\n  url: http://y\n"
        resp = client.post("/config", data=yaml_text, content_type="application/yaml")
    else:
        resp = client.post("/config", data=text, content_type="text/plain")
    assert resp.status_code == 201, resp.get_json()
    assert _names(client, "/services") == ["s2"]


def test_post_config_replaces_everything(client):
    _loaded(client)
    _loaded(client, '_format_version: "3.0"\nservices:\n- name: s2\n  url: http://y\n')
    assert _names(client, "/services") == ["s2"]
    assert _names(client, "/routes") == []
    assert _names(client, "/consumers") == []


@pytest.mark.parametrize("resp_of", [
    lambda c: c.post("/config"),
    lambda c: c.post("/config", data={"config": ""}),
    lambda c: c.post("/config", json={"config": ""}),
])
def test_no_document_is_refused(client, resp_of):
    resp = resp_of(client)
    assert resp.status_code == 400
    assert resp.get_json() == {"message": "expected a declarative configuration"}


def test_check_hash_answers_304_for_the_text_loaded_last(client):
    _loaded(client)
    resp = client.post("/config?check_hash=1", data={"config": DOC})
    assert resp.status_code == 304
    assert client.post("/config?check_hash=1", data={"config": DOC + "\n"}).status_code == 201
    assert client.post("/config?check_hash=true", data={"config": DOC}).status_code == 201


def test_status_reports_the_configuration_hash(client):
    assert client.get("/status").get_json()["configuration_hash"] == "0" * 32
    _loaded(client)
    body = client.get("/status").get_json()
    assert body["configuration_hash"] == hashlib.md5(DOC.encode()).hexdigest()
    assert body["database"] == {"reachable": True}


BAD = '_format_version: "3.0"\nservices:\n- name: s9\n  foo: 1\n'


def test_an_invalid_document_is_refused_and_the_old_one_kept(client):
    _loaded(client)
    resp = client.post("/config", data={"config": BAD})
    assert resp.status_code == 400
    assert resp.get_json() == {
        "code": 14, "name": "invalid declarative configuration",
        "message": 'declarative config is invalid: '
                   '{services={{foo="unknown field",host="required field missing"}}}',
        "fields": {"services": [{"foo": "unknown field", "host": "required field missing"}]}}
    assert _names(client, "/services") == ["s1"]
    # the hash stays the old document's
    assert client.post("/config?check_hash=1", data={"config": DOC}).status_code == 304


def test_flatten_errors(client):
    resp = client.post("/config?flatten_errors=1", data={"config": BAD})
    body = resp.get_json()
    assert resp.status_code == 400 and body["fields"] == {}
    assert body["flattened_errors"] == [{
        "entity_type": "service", "entity_name": "s9", "entity": {"name": "s9", "foo": 1},
        "errors": [{"type": "field", "field": "foo", "message": "unknown field"},
                   {"type": "field", "field": "host", "message": "required field missing"}]}]


def test_unparsable_text(client):
    resp = client.post("/config", data={"config": "services: [a"})
    body = resp.get_json()
    assert resp.status_code == 400 and body["code"] == 14
    assert body["fields"]["error"].startswith("failed parsing declarative configuration: ")


@pytest.mark.parametrize("plugin", ["rate-limiting", "response-ratelimiting"])
def test_cluster_policy_is_refused(client, plugin):
    config = {"policy": "cluster", **({"minute": 5} if plugin == "rate-limiting"
                                      else {"limits": {"video": {"minute": 5}}})}
    doc = {"_format_version": "3.0", "plugins": [{"name": plugin, "config": config}]}
    resp = client.post("/config", json=doc)
    body = resp.get_json()
    assert resp.status_code == 400, body
    assert body["fields"] == {"plugins": [{"config": {"policy": "expected one of: local, redis"}}]}
    doc["plugins"][0]["config"]["policy"] = "local"
    assert client.post("/config", json=doc).status_code == 201


def test_get_config_exports_yaml(client):
    _loaded(client)
    text = client.get("/config").get_json()["config"]
    assert text.startswith('_format_version: \'3.0\'\n') or text.startswith("_format_version:")
    _loaded(client, '_format_version: "3.0"\n')
    assert _names(client, "/services") == []
    assert client.post("/config", data={"config": text}).status_code == 201
    assert _names(client, "/services") == ["s1"]
    assert client.get("/consumers/alice/key-auth").get_json()["data"][0]["key"] == "k1"


def test_database_nodes_answer_400(tmp_path):
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "k.db"),
              "prefix": str(tmp_path), "admin_listen": ["127.0.0.1:8001"]}
    app = create_app(config, node_id=NODE_ID)
    try:
        c = app.test_client()
        for resp in (c.get("/config"), c.post("/config", data={"config": DOC})):
            assert resp.status_code == 400
            assert resp.get_json() == {"message": ONLY_DBLESS}
        assert c.post("/services", json={"name": "x", "url": "http://x"}).status_code == 201
    finally:
        close_app(app)


def test_keys_and_key_sets_load_nested_and_flat(client):
    public_key = pem_pair().public_key
    doc = {"_format_version": "3.0",
           "key_sets": [{"name": "ks", "keys": [{"name": "nested", "kid": "a",
                                                 "pem": {"public_key": public_key}}]}],
           "keys": [{"name": "flat", "kid": "b", "set": "ks",
                     "jwk": jwk_text(rsa_jwk("b"))}]}
    body = _loaded(client, json.dumps(doc))
    assert sorted(body) == ["key_sets", "keys"]
    (set_id, _key_set), = body["key_sets"].items()
    assert _names(client, "/key-sets/ks/keys") == ["flat", "nested"]
    assert client.get("/keys/flat").get_json()["set"] == {"id": set_id}
    resp = client.post("/keys", json={"kid": "c", "pem": {"public_key": public_key}})
    assert resp.status_code == 405
    assert resp.get_json() == _unsupported("cannot create 'keys' entities")
    bad = dict(doc, keys=[{"kid": "b", "set": "ks", "jwk": '{"kid": "b"}'}])
    resp = client.post("/config", json=bad)
    assert resp.status_code == 400
    assert resp.get_json()["fields"]["keys"] == [
        {"@entity": ["could not load JWK, likely not a valid key"]}]


def test_rate_limiting_policy_defaults_to_local(client):
    """Kong's rate-limiting 03-api_spec on DB-less: a 1.1 document, and the
    answer's plugins keyed by id show the default policy."""
    plugin_id = "bac2038a-205c-4013-8830-e6dde503a3e3"
    doc = {"_format_version": "1.1",
           "plugins": [{"id": plugin_id, "name": "rate-limiting", "config": {"second": 10}}]}
    resp = client.post("/config", json=doc)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["plugins"][plugin_id]["config"]["policy"] == "local"
