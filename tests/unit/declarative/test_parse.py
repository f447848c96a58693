"""The declarative format: good documents, bad ones with Kong's messages, derived ids."""
import json
import uuid

import pytest

from kongpy import declarative, luahelper
from kongpy.declarative import load

NS = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")


def kong_id(table, key):
    return str(uuid.uuid5(uuid.uuid5(NS, table), key))


NESTED = """
_format_version: "3.0"
_comment: ignored
services:
- name: example
  url: http://127.0.0.1:9/
  _comment: ignored here too
  routes:
  - name: r1
    paths: ["/ex"]
    plugins:
    - name: key-auth
  plugins:
  - name: key-auth
consumers:
- username: alice
  keyauth_credentials:
  - key: secret123
  basicauth_credentials:
  - username: alice-basic
    password: pw
  hmacauth_credentials:
  - username: alice-hmac
    secret: s3cr3t
  jwt_secrets:
  - key: alice-jwt
    secret: s3cr3t
  acls:
  - group: admins
  plugins:
  - name: rate-limiting
    config: {minute: 10}
upstreams:
- name: up1
  targets:
  - target: 10.0.0.1:80
vaults:
- prefix: my-env
  name: env
"""


def by_table(config):
    out = {}
    for entry in config.entries:
        out.setdefault(entry.table, []).append(entry.data)
    return out


def test_nested_entities_are_hoisted_with_their_parent_and_kong_ids(sqlite_db):
    config = declarative.parse(NESTED, sqlite_db)
    got = by_table(config)
    svc = kong_id("services", "example")
    route = kong_id("routes", "r1")
    alice = kong_id("consumers", "alice")
    up = kong_id("upstreams", "up1")
    assert [s["id"] for s in got["services"]] == [svc]
    assert got["routes"][0]["id"] == route
    assert got["routes"][0]["service"] == {"id": svc}
    plugins = {(p.get("service") or {}).get("id") or (p.get("route") or {}).get("id")
               or p["consumer"]["id"]: p["id"] for p in got["plugins"]}
    assert plugins == {
        svc: kong_id("plugins", f"plugins:*:key-auth::{svc}:"),
        route: kong_id("plugins", f"plugins:*:key-auth:{route}::"),
        alice: kong_id("plugins", f"plugins:*:rate-limiting:::{alice}"),
    }
    assert got["targets"][0]["id"] == kong_id("targets", f"targets:*:{up}:10.0.0.1:80")
    assert got["targets"][0]["upstream"] == {"id": up}
    assert got["acls"][0]["id"] == kong_id("acls", f"acls:*:{alice}:admins")
    assert got["basicauth_credentials"][0]["id"] == kong_id(
        "basicauth_credentials", "basicauth_credentials:*:alice-basic")
    assert got["vaults"][0]["id"] == kong_id("vaults", "vaults:*:my-env")
    # key-auth's and jwt's key are `auto` fields: Kong gives such credentials a random id
    key_id = got["keyauth_credentials"][0]["id"]
    assert key_id != declarative.parse(NESTED, sqlite_db).by_table()[
        "keyauth_credentials"][0].data["id"]
    # parents come before children
    tables = [e.table for e in config.entries]
    assert tables.index("services") < tables.index("routes") < tables.index("plugins")
    assert tables.index("consumers") < tables.index("acls")


def test_the_same_document_gives_the_same_ids(sqlite_db):
    first = [(e.table, e.data["id"]) for e in declarative.parse(NESTED, sqlite_db).entries
             if e.table not in ("keyauth_credentials", "jwt_secrets")]
    second = [(e.table, e.data["id"]) for e in declarative.parse(NESTED, sqlite_db).entries
              if e.table not in ("keyauth_credentials", "jwt_secrets")]
    assert first == second


def test_top_level_references_by_name_or_id_and_json(sqlite_db):
    svc_id = str(uuid.uuid4())
    doc = {"_format_version": "3.0",
           "services": [{"id": svc_id, "name": "s1", "host": "a.test"}],
           "routes": [{"name": "by-name", "service": "s1", "paths": ["/a"]},
                      {"name": "by-id", "service": svc_id, "paths": ["/b"]}],
           "certificates": [], "consumers": [{"username": "bob", "tags": ["t1"]}],
           "plugins": [{"name": "rate-limiting", "consumer": "bob",
                        "config": {"minute": 1}}]}
    got = by_table(declarative.parse(json.dumps(doc), sqlite_db, "kong.json"))
    assert [r["service"] for r in got["routes"]] == [{"id": svc_id}, {"id": svc_id}]
    bob = kong_id("consumers", "bob")
    assert got["plugins"][0]["consumer"] == {"id": bob}
    # a top-level reference enters the cache key as written
    assert got["plugins"][0]["id"] == kong_id("plugins", "plugins:*:rate-limiting:::bob")


def test_top_level_references_in_kongs_record_form(sqlite_db):
    """A foreign key may also be given as ``{"id": ...}`` (what Kong accepts,
    e.g. SNIs declared beside their certificate); it names the entity by id."""
    svc_id = str(uuid.uuid4())
    doc = {"_format_version": "3.0",
           "services": [{"id": svc_id, "name": "s1", "host": "a.test"}],
           "routes": [{"name": "rec", "service": {"id": svc_id}, "paths": ["/a"]}]}
    got = by_table(declarative.parse(json.dumps(doc), sqlite_db, "kong.json"))
    assert got["routes"][0]["service"] == {"id": svc_id}
    missing = str(uuid.uuid4())
    doc["routes"][0]["service"] = {"id": missing}
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(json.dumps(doc), sqlite_db, "kong.json")
    assert info.value.fields() == {"routes": {"rec": [
        f"invalid reference 'service: {{\"id\":\"{missing}\"}}' "
        "(no such entry in 'services')"]}}


@pytest.mark.parametrize("version, path, migrated", [
    ("1.1", "/users/\\d+", "~/users/\\d+"),
    ("2.1", "/plain/path", "/plain/path"),
    ("2.1", "/a%2Db", "/a-b"),
    ("2.1", "/a%2Fb", "/a%2Fb"),
    ("3.0", "/users/\\d+", "/users/\\d+"),
])
def test_format_versions_before_3_0_migrate_regex_paths(version, path, migrated):
    doc = {"_format_version": version,
           "services": [{"name": "s", "host": "h", "routes": [{"paths": [path]}]}],
           "routes": [{"paths": [path]}]}
    out = load.migrate(doc)
    assert out["_format_version"] in ("3.0",)
    assert out["services"][0]["routes"][0]["paths"] == [migrated]
    assert out["routes"][0]["paths"] == [migrated]


BAD = [
    ("_format_version: \"3.0\"\nfoo: 1\n", {"foo": "unknown field"}),
    ("services: []\n", {"_format_version": "required field missing"}),
    ("_format_version: \"4.0\"\n", {"_format_version": "expected one of: 1.1, 2.1, 3.0"}),
    ("_format_version: \"3.0\"\n_transform: 1\n", {"_transform": "expected a boolean"}),
    ("_format_version: \"3.0\"\nservices: {}\n", {"services": "expected an array"}),
    ("_format_version: \"3.0\"\nservices: [1]\n", {"services": ["expected a record"]}),
    ("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  bogus: 1\n",
     {"services": [{"bogus": "unknown field"}]}),
    ("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n"
     "  routes:\n  - paths: [\"/\"]\n    protocols: [ftp]\n",
     {"services": [{"routes": [{"protocols": ["expected one of: grpc, grpcs, http, https, "
                                              "tcp, tls, tls_passthrough, udp"]}]}]}),
    ("_format_version: \"3.0\"\nroutes:\n- name: r\n  service: nope\n  paths: [\"/\"]\n",
     {"routes": {"r": ["invalid reference 'service: nope' (no such entry in 'services')"]}}),
    ("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n- name: s\n  host: h2\n",
     {"services": [None, "uniqueness violation: 'services' entity with name set to 's' "
                         "already declared"]}),
    ("_format_version: \"3.0\"\nconsumers:\n- id: 6d6a8fb5-5e33-4b39-a4b8-6e0e8b8b1a70\n"
     "  username: a\n- id: 6d6a8fb5-5e33-4b39-a4b8-6e0e8b8b1a70\n  username: b\n",
     {"consumers": [None, "uniqueness violation: 'consumers' entity with primary key set "
                          "to '6d6a8fb5-5e33-4b39-a4b8-6e0e8b8b1a70' already declared"]}),
    ("_format_version: \"3.0\"\nconsumers:\n- username: a\n  custom_id: c\n"
     "- username: b\n  custom_id: c\n",
     {"consumers": {"b": "uniqueness violation: 'consumers' entity with custom_id set to "
                         "'c' already declared"}}),
    ("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  routes:\n"
     "  - paths: [\"/\"]\n    service: other\n",
     {"services": [{"routes": [{"service": "value must be null"}]}]}),
    ("_format_version: \"3.0\"\nroutes:\n- paths: [\"/\"]\n  service: {id: x}\n",
     {"routes": [{"service": "expected a string"}]}),
]


@pytest.mark.parametrize("text, fields", BAD)
def test_bad_documents_give_kongs_messages(sqlite_db, text, fields):
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db)
    assert info.value.fields() == fields


@pytest.mark.parametrize("text, filename, reason", [
    ("{not json", "kong.json", "Expecting property name enclosed in double quotes: "
                               "line 1 column 2 (char 1)"),
    ("a: [1, 2", "kong.yml", None),
    ("- 1\n- 2\n", "kong.yml", "expected an object"),
])
def test_text_that_is_not_a_configuration(sqlite_db, text, filename, reason):
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db, filename)
    message = info.value.fields()["error"]
    assert message.startswith("failed parsing declarative configuration: ")
    if reason:
        assert message == "failed parsing declarative configuration: " + reason


def test_flattened_errors_hoist_nested_entities(sqlite_db):
    text = ("_format_version: \"3.0\"\nabnormal_extra_field: 1\n")
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db)
    assert info.value.flattened() == ({"abnormal_extra_field": "unknown field"}, [])
    text = ("_format_version: \"3.0\"\nservices:\n- name: s\n  host: 1\n  tags: [a]\n"
            "  routes:\n  - name: r\n    paths: [\"/\"]\n    bogus: 2\n"
            "    plugins:\n    - name: key-auth\n      config: {nope: 1}\n")
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db)
    fields, flat = info.value.flattened()
    assert fields == {}
    svc = kong_id("services", "s")
    route = kong_id("routes", "r")
    assert flat == [
        {"entity_type": "service", "entity_name": "s", "entity_tags": ["a"],
         "entity": {"name": "s", "host": 1, "tags": ["a"]},
         "errors": [{"type": "field", "field": "host", "message": "expected a string"}]},
        {"entity_type": "route", "entity_name": "r",
         "entity": {"name": "r", "paths": ["/"], "bogus": 2, "service": {"id": svc}},
         "errors": [{"type": "field", "field": "bogus", "message": "unknown field"}]},
        {"entity_type": "plugin", "entity_name": "key-auth",
         "entity": {"name": "key-auth", "config": {"nope": 1}, "route": {"id": route}},
         "errors": [{"type": "field", "field": "config.nope", "message": "unknown field"}]},
    ]


def test_references_are_flattened_onto_their_entity(sqlite_db):
    text = "_format_version: \"3.0\"\nroutes:\n- name: r\n  service: nope\n  paths: [\"/\"]\n"
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db)
    fields, flat = info.value.flattened()
    assert fields == {}
    assert flat[0]["entity_type"] == "route"
    assert flat[0]["errors"] == [{"type": "entity", "message": "invalid reference "
                                  "'service: nope' (no such entry in 'services')"}]


def test_other_workspaces_are_refused(sqlite_db):
    declarative.parse("_format_version: \"3.0\"\n_workspace: default\n", sqlite_db)
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse("_format_version: \"3.0\"\n_workspace: team-a\n", sqlite_db)
    assert info.value.fields() == {"_workspace": "only the 'default' workspace exists"}


def test_parse_lines_name_the_entry(sqlite_db):
    text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: 1\n"
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(text, sqlite_db)
    assert info.value.message == ("declarative config is invalid:\n"
                                  "in 'services':\n"
                                  "  - in entry 1 of 'services':\n"
                                  "    in 'host': expected a string")


def _batch_document():
    consumers = [{"username": f"u{i}", "keyauth_credentials": [{"key": f"k{i}"}]}
                 for i in range(40)]
    consumers[7]["keyauth_credentials"][0]["key"] = 7          # the Lua schema refuses it
    consumers[21]["keyauth_credentials"][0]["ttl"] = -1        # checked on the Python side
    consumers[30]["plugins"] = [{"name": "rate-limiting", "config": {"minute": "x"}}]
    consumers[31]["plugins"] = [{"name": "rate-limiting", "config": {"minute": 5}}]
    return json.dumps({"_format_version": "3.0", "consumers": consumers})


def test_plugin_owned_entities_are_checked_in_batches(sqlite_db, monkeypatch):
    """A table's entities go to the Lua helper together, and each error lands
    where validating them one by one puts it."""
    paths = []
    real = luahelper.LuaHelper._request

    def counted(self, method, path, body=None):
        paths.append(path)
        return real(self, method, path, body)

    monkeypatch.setattr(luahelper.LuaHelper, "_request", counted)
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(_batch_document(), sqlite_db)
    batched = info.value.flattened()
    assert paths.count("/validate_many") == 2 and "/validate" not in paths
    # the same document, each entity on its own
    for schema in (sqlite_db.daos["keyauth_credentials"].schema, sqlite_db.daos["plugins"].schema):
        monkeypatch.setattr(schema, "lua_validate_many", None)
    paths.clear()
    with pytest.raises(declarative.DeclarativeError) as info:
        declarative.parse(_batch_document(), sqlite_db)
    assert paths.count("/validate") == 42 and "/validate_many" not in paths
    assert info.value.flattened() == batched
    flat = batched[1]
    assert [(e["entity_type"], e["errors"]) for e in flat] == [
        ("keyauth_credential", [{"type": "field", "field": "key", "message": "expected a string"}]),
        ("keyauth_credential", [{"type": "field", "field": "ttl",
                                 "message": "value should be between 0 and 100000000"}]),
        ("plugin", [{"type": "field", "field": "config.minute", "message": "expected a number"}]),
    ]
