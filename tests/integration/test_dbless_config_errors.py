"""``POST /config`` error bodies on a DB-less node, as Kong 3.9's
spec/02-integration/04-admin_api/15-off_spec.lua ("[flattened errors]")
expects them: top-level and entity errors reported together, the message of a
flattened body written from the ``fields`` left, and ``entity_name`` /
``entity_tags`` left out when they are not well-formed."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import certs
from tests.helpers.gateway import Gateway

PROTOCOL = "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"
TCP_ROUTE = ("must set one of 'sources', 'destinations', 'snis' when 'protocols' is "
             "'tcp', 'tls' or 'udp'")


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    require_binary("nginx")
    gw = Gateway(tmp_path_factory.mktemp("dbless-errors"), workers=1,
                 extra={"database": "off"})
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        yield gw.admin
    finally:
        gw.stop()


def _post(admin: str, doc: dict, flatten: str) -> dict:
    resp = requests.post(f"{admin}/config?flatten_errors={flatten}",
                         json={"_format_version": "3.0", **doc}, timeout=30)
    assert resp.status_code == 400, resp.text
    return resp.json()


def _services() -> list:
    return [
        {"name": "nope", "host": "localhost", "port": 1234, "protocol": "nope",
         "tags": ["service-01"],
         "routes": [{"name": "valid.route", "protocols": ["http", "https"],
                     "methods": ["GET"], "hosts": ["test"], "tags": ["route-01"]},
                    {"name": "nope.route", "protocols": ["tcp"], "tags": ["route-02"]}]},
        {"name": "mis-matched", "host": "localhost", "protocol": "tcp", "path": "/path",
         "tags": ["service-02"]},
        {"name": "okay", "url": "http://localhost:1234", "tags": ["service-03"],
         "routes": [{"name": "probably-valid", "hosts": ["test"], "tags": ["route-03"],
                     "plugins": [{"name": "http-log", "config": {"not_endpoint": "x"},
                                  "tags": ["plugin-01"]}]}]},
    ]


def test_unknown_top_level_key_and_entity_errors_together(admin):
    doc = {"abnormal_extra_field": 123, "services": _services()}
    body = _post(admin, doc, "off")
    assert "flattened_errors" not in body
    assert body["fields"] == {
        "abnormal_extra_field": "unknown field",
        "services": [
            {"protocol": PROTOCOL, "routes": [None, {"@entity": [TCP_ROUTE]}]},
            {"@entity": ["failed conditional validation given value of field 'protocol'"],
             "path": "value must be null"},
            {"routes": [{"plugins": [{"config": {"http_endpoint": "required field missing",
                                                 "not_endpoint": "unknown field"}}]}]},
        ]}

    body = _post(admin, doc, "true")
    assert body["fields"] == {"abnormal_extra_field": "unknown field"}
    assert body["message"] == ('declarative config is invalid: '
                               '{abnormal_extra_field="unknown field"}')
    assert sorted(e["entity"]["tags"][0] for e in body["flattened_errors"]) == [
        "plugin-01", "route-02", "service-01", "service-02"]


def test_flattened_message_is_written_from_the_fields_left(admin):
    doc = {"consumers": [
        {"id": "a73dc9a7-93df-584d-97c0-7f41a1bbce3d", "username": "c1", "tags": ["c-1"]},
        {"id": "a73dc9a7-93df-584d-97c0-7f41a1bbce32", "username": "c1", "tags": ["c-2"]}]}
    body = _post(admin, doc, "1")
    assert body["fields"] == {}
    assert body["message"] == "declarative config is invalid: {}"
    assert [e["entity_id"] for e in body["flattened_errors"]] == [
        "a73dc9a7-93df-584d-97c0-7f41a1bbce32"]
    unflattened = _post(admin, doc, "0")
    assert "uniqueness violation" in unflattened["message"]


def test_malformed_entity_name_and_tags_are_left_out(admin):
    doc = {"services": [
        {"name": "", "url": "https://localhost:1234", "tags": ["service-08"]},
        {"name": "invalid-tags", "url": "https://localhost:1234",
         "tags": ["service-07", [1, 2, 3], True]},
        {"id": 1234, "name": False, "url": "https://localhost:1234",
         "tags": ["service-06", [1.5]]}]}
    flat = {e["entity"]["tags"][0]: e for e in _post(admin, doc, "1")["flattened_errors"]}
    assert "entity_name" not in flat["service-08"]
    assert flat["service-08"]["entity_tags"] == ["service-08"]
    assert flat["service-07"]["entity_name"] == "invalid-tags"
    assert "entity_tags" not in flat["service-07"]
    assert not {"entity_id", "entity_name", "entity_tags"} & set(flat["service-06"])
    assert flat["service-06"]["entity"] == doc["services"][2]


def test_a_vault_that_is_not_installed_reports_its_name_only(admin):
    doc = {"vaults": [{"name": "vault-not-installed", "prefix": "env",
                       "config": {"prefix": "SSL_"}, "tags": ["vault-02"]}]}
    body = _post(admin, doc, "1")
    assert body["flattened_errors"] == [{
        "entity_type": "vault", "entity_name": "vault-not-installed",
        "entity_tags": ["vault-02"], "entity": doc["vaults"][0],
        "errors": [{"type": "field", "field": "name",
                    "message": "vault 'vault-not-installed' is not installed"}]}]


def test_snis_beside_their_certificate_by_record(admin):
    """15-off_spec: SNIs declared at the top level name their certificate in
    Kong's record form, ``{"id": ...}``: accepted and served."""
    pair = certs.fixture("rsa")
    cert_id = str(uuid.uuid4())
    resp = requests.post(f"{admin}/config", json={
        "_format_version": "3.0",
        "certificates": [{"id": cert_id, "cert": pair.cert, "key": pair.key}],
        "snis": [{"name": "record.test", "certificate": {"id": cert_id}}]}, timeout=30)
    assert resp.status_code == 201, resp.text
    sni = requests.get(f"{admin}/snis/record.test", timeout=10).json()
    assert sni["certificate"] == {"id": cert_id}
