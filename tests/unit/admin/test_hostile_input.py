"""Hostile Admin API input gets a 4xx with Kong's body, never a 500, and a
refused write leaves the datastore exactly as it was (no row, no event).

The cases are those a fuzzer found: bodies that are JSON but not an object,
documents nested a thousand deep, lone UTF-16 surrogates, non-finite
numbers, oversized bodies and content types the Admin API does not read.
"""
from __future__ import annotations

import io
import json
import logging

import pytest

from kongpy.admin import close_app, create_app
from kongpy.admin.body import MAX_BODY_BYTES, MAX_DEPTH
from kongpy.admin.resources import json_response
from tests.helpers.http import admin

CANNOT_PARSE = {"message": "Cannot parse JSON body"}
EXPECTED_RECORD = {"code": 2, "name": "schema violation",
                   "message": "schema violation (expected a record)",
                   "fields": {"@entity": ["expected a record"]}}
NOT_OBJECTS = ("null", "1", "-2.5", '"x"', "true", "[]", "[[]]", '[{"host": "h"}]')
JSON = "application/json"


@pytest.fixture
def app(tmp_path):
    """One SQLite node: parsing does not depend on the datastore."""
    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "p.db"),
              "prefix": str(tmp_path), "admin_listen": ["127.0.0.1:8001"]}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    yield application
    close_app(application)


@pytest.fixture
def seeded(client):
    api = admin(client)
    api.post("/services", {"name": "s1", "host": "example.com"})
    api.post("/services/s1/routes", {"name": "r1", "paths": ["/r1"]})
    api.post("/consumers", {"username": "c1"})
    api.post("/consumers/c1/key-auth", {"key": "k1"})
    plugin = api.post("/services/s1/plugins", {"name": "key-auth"})
    return {"plugin": plugin["id"]}


def _state(app) -> tuple:
    """Every row of every entity, and the configuration version."""
    db = app.extensions["kongpy"]["db"]
    rows = {name: sorted(json.dumps(r, sort_keys=True) for r in dao.each())
            for name, dao in db.daos.items()}
    return rows, db.events.latest()


def _send(client, method: str, path: str, data, content_type: str | None = JSON,
          **kwargs):
    return client.open(path, method=method, data=data, content_type=content_type, **kwargs)


WRITES = (
    ("POST", "/services"), ("PUT", "/services/s1"), ("PUT", "/services/s2"),
    ("PATCH", "/services/s1"), ("POST", "/services/s1/routes"),
    ("PUT", "/services/s1/routes/r1"), ("PATCH", "/services/s1/routes/r1"),
    ("PUT", "/routes/r1/service"), ("PATCH", "/routes/r1/service"),
    ("POST", "/consumers"), ("PATCH", "/consumers/c1"), ("PUT", "/consumers/c2"),
    ("POST", "/consumers/c1/key-auth"), ("PATCH", "/key-auths/k1"),
    ("PUT", "/consumers/c1/key-auth/k1"), ("PUT", "/key-auths/k1/consumer"),
    ("POST", "/plugins"), ("PATCH", "/plugins/{plugin}"), ("PUT", "/plugins/{plugin}"),
    ("POST", "/schemas/services/validate"), ("POST", "/schemas/plugins/validate"),
)


@pytest.mark.parametrize("method, path", WRITES)
def test_json_that_is_not_an_object_is_a_schema_violation(app, client, seeded, method, path):
    path = path.format(**seeded)
    before = _state(app)
    for body in NOT_OBJECTS:
        resp = _send(client, method, path, body)
        assert (resp.status_code, resp.get_json()) == (400, EXPECTED_RECORD), body
    assert _state(app) == before


def test_patch_of_a_missing_entity_still_checks_the_body_first(client):
    resp = _send(client, "PATCH", "/services/nowhere", "[]")
    assert (resp.status_code, resp.get_json()) == (400, EXPECTED_RECORD)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_documents_nested_too_deep_cannot_be_parsed(app, client, seeded, depth):
    before = _state(app)
    for doc in ("[" * depth + "]" * depth,
                '{"name": "x", "host": ' + "[" * depth + "]" * depth + "}",
                '{"name": "key-auth", "config": {"anonymous": '
                + '{"a": ' * depth + "1" + "}" * depth + "}}"):
        for method, path in (("POST", "/services"), ("PATCH", "/services/s1"),
                             ("POST", "/plugins"), ("PUT", "/services/s3")):
            resp = _send(client, method, path, doc)
            assert (resp.status_code, resp.get_json()) == (400, CANNOT_PARSE), (depth, path)
    assert _state(app) == before


def test_documents_within_the_depth_limit_are_validated(client, seeded):
    deep = "[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3)
    resp = _send(client, "POST", "/services", '{"host": "h", "tags": ' + deep + "}")
    assert resp.status_code == 400 and resp.get_json()["fields"] == {
        "tags": ["expected a string"]}
    resp = _send(client, "POST", "/plugins",
                 '{"name": "key-auth", "config": {"anonymous": ' + deep + "}}")
    assert resp.status_code == 400
    assert resp.get_json()["fields"] == {"config": {"anonymous": "expected a string"}}


@pytest.mark.parametrize("doc", [
    '{"name": "\\ud800", "host": "h"}',
    '{"\\ud800": 1, "host": "h"}',
    '{"host": "h", "tags": ["\\udc00"]}',
    '{"host": "h", "tags": ["ok", "a\\ud83d"]}',
    '{"name": "key-auth", "config": {"realm": "\\udfff"}}',
])
def test_lone_surrogates_cannot_be_parsed(app, client, seeded, doc):
    before = _state(app)
    for method, path in (("POST", "/services"), ("PUT", "/services/s1"),
                         ("PATCH", "/services/s1"), ("POST", "/plugins")):
        resp = _send(client, method, path, doc)
        assert (resp.status_code, resp.get_json()) == (400, CANNOT_PARSE), path
    assert _state(app) == before


def test_surrogate_pairs_are_characters(client):
    resp = _send(client, "POST", "/services", '{"name": "\\ud83d\\ude00", "host": "h"}')
    assert resp.status_code == 201 and resp.get_json()["name"] == "\U0001F600"
    assert client.get("/services/%F0%9F%98%80").get_json()["name"] == "\U0001F600"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999",
                                    "1" * 5000])
def test_numbers_json_cannot_carry_are_refused(client, number):
    resp = _send(client, "POST", "/services", '{"host": "h", "retries": %s}' % number)
    assert (resp.status_code, resp.get_json()) == (400, CANNOT_PARSE)


@pytest.mark.parametrize("raw", [b"", b"  \n", b"\xff\xfe{}", b"{\"host\": \"\xff\"}"])
def test_empty_and_undecodable_json_bodies(client, raw):
    for method, path in (("POST", "/services"), ("PUT", "/services/s9"),
                         ("PATCH", "/services/s9")):
        resp = _send(client, method, path, raw)
        assert (resp.status_code, resp.get_json()) == (400, CANNOT_PARSE), (raw, method)


def test_oversized_bodies_are_refused_unread(app, client, seeded):
    before = _state(app)
    big = b'{"host": "h", "name": "' + b"a" * MAX_BODY_BYTES + b'"}'
    for content_type in (JSON, "application/x-www-form-urlencoded", "text/plain"):
        resp = _send(client, "POST", "/services", big, content_type)
        assert (resp.status_code, resp.get_json()) == (413, {"message": "Payload too large"})
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    # Without a Content-Length the limit holds while reading.
    resp = client.post("/services", input_stream=io.BytesIO(big), content_type=JSON,
                       environ_overrides={"wsgi.input_terminated": True})
    assert (resp.status_code, resp.get_json()) == (413, {"message": "Payload too large"})
    resp = _send(client, "POST", "/services", b'{"port": "x", "name": "'
                 + b"a" * (MAX_BODY_BYTES - 100) + b'"}')
    assert resp.status_code == 400  # within the limit: read, then validated
    assert _state(app) == before


def test_unsupported_content_types_get_a_json_415(app, client, seeded):
    before = _state(app)
    for content_type, data in (("text/plain", "host=x"), ("application/xml", "<a/>"),
                               ("text/plain", ""), (None, "host=x")):
        resp = _send(client, "POST", "/services", data, content_type)
        assert (resp.status_code, resp.get_json()) == (
            415, {"message": "Unsupported media type"}), content_type
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert _state(app) == before
    # No content type and no body: an empty entity, as in Kong.
    resp = _send(client, "POST", "/consumers", None, None)
    assert resp.status_code == 400 and resp.get_json()["fields"] == {"@entity": [
        "at least one of these fields must be non-empty: 'custom_id', 'username'"]}


def test_form_keys_nested_too_deep_are_refused(app, client, seeded):
    before = _state(app)
    for key in ("a" + ".a" * 5000, "config" + "[a]" * MAX_DEPTH):
        resp = client.post("/plugins", data={"name": "key-auth", key: "1"})
        assert (resp.status_code, resp.get_json()) == (
            400, {"message": "Cannot parse form body"}), key[:20]
    assert _state(app) == before


@pytest.mark.parametrize("form", [
    {"[0]": "x", "host": "h"}, {"[]": "x", "host": "h"}, {"0": "x", "host": "h"},
    {"tags[0]": "a", "tags.x": "b", "host": "h"}, {"host[]": "h", "host[1]": "i"},
    {"headers[0]": "x", "paths": "/a"}, {"service[0]": "x", "paths": "/a"},
])
def test_odd_form_keys_are_schema_violations(app, client, seeded, form):
    before = _state(app)
    path = "/routes" if "paths" in form else "/services"
    resp = client.post(path, data=form)
    assert resp.status_code == 400 and resp.get_json()["code"] == 2, resp.get_json()
    assert _state(app) == before


def test_json_response_survives_text_utf8_cannot_carry(app):
    with app.test_request_context("/"):
        resp = json_response({"message": "a\ud800b", "\udc00": 1})
    assert resp.status_code == 200
    assert json.loads(resp.get_data()) == {"message": "a\ud800b", "\udc00": 1}


class _Utf8Stream(io.StringIO):
    """A log destination that, like gunicorn's, only takes valid UTF-8."""

    def write(self, text: str) -> int:
        text.encode("utf-8")
        return super().write(text)


def test_log_lines_survive_text_utf8_cannot_carry(app, monkeypatch):
    # Only the Admin API's own handler sees the line (pytest's capture would
    # carry the surrogate into its report).
    monkeypatch.setattr(logging.getLogger(app.name), "propagate", False)
    stream = _Utf8Stream()
    with app.test_request_context("/", environ_overrides={"wsgi.errors": stream}):
        logging.getLogger("kongpy.admin.probe").error("client sent %s", "x\ud800y")
    assert "client sent x\\ud800y" in stream.getvalue()


@pytest.mark.parametrize("name", [True, 1, {}, ["key-auth"], {"a": 1}])
def test_a_plugin_name_of_another_type_is_a_schema_violation(app, client, seeded, name):
    before = _state(app)
    for method, path in (("POST", "/plugins"), ("PUT", "/plugins/p\u00e9"),
                         ("PATCH", "/plugins/{plugin}"), ("POST", "/schemas/plugins/validate")):
        resp = _send(client, method, path.format(**seeded), json.dumps({"name": name}))
        assert resp.status_code == 400, (method, resp.get_json())
        assert resp.get_json()["fields"] == {"name": "expected a string"}
    assert _state(app) == before


@pytest.mark.parametrize("size, message", [
    ("nan", "size must be a number"), ("inf", "size must be a number"),
    ("-Infinity", "size must be a number"), ("1_0", "size must be a number"),
    ("1e400", "size must be an integer between 1 and 1000"),
])
def test_page_sizes_that_are_no_lua_number(client, seeded, size, message):
    for path in ("/services", "/tags", "/consumers/c1/plugins"):
        resp = client.get(f"{path}?size={size}")
        assert (resp.status_code, resp.get_json()) == (
            400, {"code": 9, "name": "invalid size", "message": message}), path
