"""``/certificates``, ``/snis``, ``/ca_certificates``, ``/vaults`` on every datastore
(Kong 3.9's fields, messages and statuses)."""
import pytest

from kongpy.errors import ReferencedByOthers

from tests.helpers.certs import fixture
from tests.helpers.http import violation_fields as _violation

RSA, ECDSA, RSA2 = fixture("rsa"), fixture("ecdsa"), fixture("rsa2")
SAME_TYPE = ("certificate and alternative certificate need to have different type "
             "(e.g. RSA and ECDSA), the provided certificates were both of the same type")
NOT_CA = ('certificate does not appear to be a CA because it is missing the "CA" '
          'basic constraint')


def _cert(client, pair=RSA, **body):
    resp = client.post("/certificates", json={"cert": pair.cert, "key": pair.key, **body})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _count(client, path):
    return len(client.get(path).get_json()["data"])


def test_certificate_shape_and_snis(client):
    cert = _cert(client, cert_alt=ECDSA.cert, key_alt=ECDSA.key, snis=["b.test", "a.test"],
                 tags=["t1"])
    assert list(cert) == ["id", "created_at", "updated_at", "cert", "key", "cert_alt",
                          "key_alt", "tags", "snis"]
    assert cert["snis"] == ["a.test", "b.test"] and cert["cert_alt"] == ECDSA.cert
    assert client.get(f"/certificates/{cert['id']}").get_json() == cert
    # An SNI name stands for its certificate.
    assert client.get("/certificates/b.test").get_json() == cert
    assert client.get("/certificates").get_json()["data"] == [cert]
    assert _cert(client, RSA2)["snis"] == []
    snis = client.get(f"/certificates/{cert['id']}/snis").get_json()["data"]
    assert sorted(s["name"] for s in snis) == ["a.test", "b.test"]
    assert list(snis[0]) == ["id", "name", "created_at", "updated_at", "tags", "certificate"]
    assert snis[0]["certificate"] == {"id": cert["id"]}
    assert client.get("/snis/a.test/certificate").get_json()["id"] == cert["id"]


def test_unknown_sni_name(client):
    missing = client.get("/certificates/nowhere.test")
    assert missing.status_code == 404 and missing.get_json() == {"message": "SNI not found"}
    assert client.patch("/certificates/nowhere.test", json={}).status_code == 404
    assert client.get("/certificates/nowhere.test/snis").status_code == 404


def test_pem_messages(client):
    fields = _violation(client.post("/certificates", json={"cert": "nope", "key": "nope"}))
    assert fields["cert"].startswith("invalid certificate: ")
    assert fields["key"].startswith("invalid key: ")
    fields = _violation(client.post("/certificates", json={"cert": RSA.cert, "key": ECDSA.key}))
    assert fields == {"@entity": ["certificate does not match key"]}
    fields = _violation(client.post("/certificates", json={
        "cert": RSA.cert, "key": RSA.key, "cert_alt": ECDSA.cert, "key_alt": fixture("ca2").key}))
    assert fields == {"@entity": ["alternative certificate does not match key"]}
    fields = _violation(client.post("/certificates", json={
        "cert": RSA.cert, "key": RSA.key, "cert_alt": RSA2.cert, "key_alt": RSA2.key}))
    assert fields == {"@entity": [SAME_TYPE]}
    fields = _violation(client.post("/certificates", json={
        "cert": RSA.cert, "key": RSA.key, "cert_alt": ECDSA.cert}))
    assert fields == {"@entity": ["all or none of these fields must be set: 'cert_alt', 'key_alt'"]}
    assert _violation(client.post("/certificates", json={"key": RSA.key})) == {
        "cert": "required field missing"}
    assert _count(client, "/certificates") == 0


def test_snis_shorthand_is_all_or_nothing(client):
    first = _cert(client, snis=["taken.test"])
    body = client.post("/certificates", json={"cert": RSA2.cert, "key": RSA2.key,
                                              "snis": ["ok.test", "taken.test"]})
    assert _violation(body) == {
        "snis": f"taken.test already associated with existing certificate '{first['id']}'"}
    bad = client.post("/certificates", json={"cert": RSA2.cert, "key": RSA2.key,
                                             "snis": ["ok.test", "bad*name.test"]})
    assert _violation(bad) == {"name": "wildcard must be leftmost or rightmost character"}
    dup = client.post("/certificates", json={"cert": RSA2.cert, "key": RSA2.key,
                                             "snis": ["d.test", "d.test"]})
    assert _violation(dup) == {"snis": "d.test is duplicated"}
    # None of the refused requests stored anything.
    assert _count(client, "/certificates") == 1 and _count(client, "/snis") == 1
    # A PATCH with a bad name changes nothing either.
    refused = client.patch(f"/certificates/{first['id']}", json={
        "snis": ["new.test", "x:80"], "tags": ["changed"]})
    assert _violation(refused) == {"name": "must not have a port"}
    assert client.get(f"/certificates/{first['id']}").get_json() == first


def test_snis_shorthand_replaces(client):
    cert = _cert(client, snis=["a.test", "b.test"])
    patched = client.patch(f"/certificates/{cert['id']}", json={"snis": ["c.test", "b.test"]})
    assert patched.status_code == 200 and patched.get_json()["snis"] == ["b.test", "c.test"]
    assert sorted(s["name"] for s in client.get("/snis").get_json()["data"]) == [
        "b.test", "c.test"]
    kept = client.patch(f"/certificates/{cert['id']}", json={"tags": ["x"]}).get_json()
    assert kept["snis"] == ["b.test", "c.test"]
    # PUT by SNI name: the name joins the given snis.
    put = client.put("/certificates/c.test", json={"cert": RSA.cert, "key": RSA.key,
                                                   "snis": ["d.test"]})
    assert put.status_code == 200 and put.get_json()["id"] == cert["id"]
    assert put.get_json()["snis"] == ["c.test", "d.test"]
    # PUT with no snis leaves none (Kong).
    bare = client.put(f"/certificates/{cert['id']}", json={"cert": RSA.cert, "key": RSA.key})
    assert bare.get_json()["snis"] == [] and _count(client, "/snis") == 0


def test_snis_entity(client):
    cert = _cert(client)
    for name in ("*.example.com", "example.*", "plain.example.com"):
        resp = client.post(f"/certificates/{cert['id']}/snis", json={"name": name})
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["certificate"] == {"id": cert["id"]}
    dup = client.post("/snis", json={"name": "example.*", "certificate": {"id": cert["id"]}})
    assert dup.status_code == 409 and dup.get_json()["code"] == 5
    assert dup.get_json()["message"] == "UNIQUE violation detected on '{name=\"example.*\"}'"
    for name, err in (("*.*.com", "only one wildcard must be specified"),
                      ("a.*.com", "wildcard must be leftmost or rightmost character"),
                      ("a.test:8443", "must not have a port")):
        fields = _violation(client.post("/snis", json={"name": name,
                                                       "certificate": {"id": cert["id"]}}))
        assert fields == {"name": err}
    assert _violation(client.post("/snis", json={"name": "x.test"})) == {
        "certificate": "required field missing"}
    assert client.get("/snis/example.*").get_json()["name"] == "example.*"
    # Deleting the certificate deletes its SNIs.
    assert client.delete(f"/certificates/{cert['id']}").status_code == 204
    assert _count(client, "/snis") == 0


def test_client_certificate_refers_to_certificates(client):
    cert = _cert(client)
    svc = client.post("/services", json={"host": "up.test", "protocol": "https",
                                         "client_certificate": {"id": cert["id"]}})
    assert svc.status_code == 201, svc.get_json()
    up = client.post("/upstreams", json={"name": "up.test",
                                         "client_certificate": {"id": cert["id"]}})
    assert up.status_code == 201, up.get_json()
    assert client.get(f"/services/{svc.get_json()['id']}/client_certificate").get_json()[
        "id"] == cert["id"]
    refused = client.delete(f"/certificates/{cert['id']}")
    assert refused.status_code == 400 and refused.get_json()["code"] == 4
    client.delete(f"/services/{svc.get_json()['id']}")
    refused = client.delete(f"/certificates/{cert['id']}")
    assert refused.get_json()["message"] == (
        "an existing 'upstreams' entity references this 'certificates' entity")
    client.delete(f"/upstreams/{up.get_json()['id']}")
    assert client.delete(f"/certificates/{cert['id']}").status_code == 204
    missing = client.post("/services", json={
        "host": "up.test", "protocol": "https",
        "client_certificate": {"id": "7f3b4a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}})
    assert missing.status_code == 400 and missing.get_json()["code"] == 4


def test_ca_certificates(client, db):
    ca = fixture("ca")
    created = client.post("/ca_certificates", json={"cert": ca.cert, "tags": ["root"]})
    assert created.status_code == 201, created.get_json()
    row = created.get_json()
    assert list(row) == ["id", "created_at", "updated_at", "cert", "cert_digest", "tags"]
    assert len(row["cert_digest"]) == 64
    dup = client.post("/ca_certificates", json={"cert": ca.cert})
    assert dup.status_code == 409
    assert dup.get_json()["fields"] == {"cert_digest": row["cert_digest"]}
    assert _violation(client.post("/ca_certificates", json={"cert": fixture("not_ca").cert})) \
        == {"@entity": [NOT_CA]}
    assert _violation(client.post("/ca_certificates",
                                  json={"cert": fixture("ca_expired").cert})) == {
        "@entity": ['certificate expired, "Not After" time is in the past']}
    assert _violation(client.post("/ca_certificates",
                                  json={"cert": ca.cert + fixture("ca2").cert})) == {
        "@entity": ["please submit only one certificate at a time"]}
    assert _violation(client.post("/ca_certificates", json={"cert": "x"}))["cert"].startswith(
        "invalid certificate: ")
    assert _count(client, "/ca_certificates") == 1
    svc = client.post("/services", json={"host": "up.test", "protocol": "https",
                                         "ca_certificates": [row["id"]]}).get_json()
    refused = client.delete(f"/ca_certificates/{row['id']}")
    assert refused.status_code == 400
    assert refused.get_json() == {"message": f"ca_certificate {row['id']} is still referenced "
                                             f"by services (id = {svc['id']})"}
    # below the Admin API, Kong's DAO error (code 19)
    with pytest.raises(ReferencedByOthers) as exc:
        db.ca_certificates.delete(row["id"])
    assert exc.value.to_body() == {
        "code": 19, "name": "referenced by others",
        "message": f"ca certificate {row['id']} is still referenced by services "
                   f"(id = {svc['id']})"}
    client.patch(f"/services/{svc['id']}", json={"ca_certificates": None})
    assert client.delete(f"/ca_certificates/{row['id']}").status_code == 204


def test_vaults(client):
    put = client.put("/vaults/my-env", json={"name": "env", "description": "d",
                                             "config": {"prefix": "APP_"}})
    assert put.status_code == 200, put.get_json()
    vault = put.get_json()
    assert vault["prefix"] == "my-env" and vault["config"] == {"prefix": "APP_"}
    assert list(vault) == ["id", "prefix", "name", "description", "config", "created_at",
                           "updated_at", "tags"]
    assert client.get("/vaults/my-env").get_json() == vault
    dup = client.post("/vaults", json={"name": "env", "prefix": "my-env"})
    assert dup.status_code == 409
    assert _violation(client.post("/vaults", json={"name": "env", "prefix": "env"})) == {
        "prefix": "must not be one of: env"}
    assert _violation(client.post("/vaults", json={"name": "env", "prefix": "Bad_"})) == {
        "prefix": "invalid value: Bad_"}
    assert _violation(client.post("/vaults", json={"name": "hcv", "prefix": "hh"})) == {
        "name": "vault 'hcv' is not installed"}
    assert _violation(client.post("/vaults", json={
        "name": "env", "prefix": "pp", "config": {"prefix": "1x"}})) == {
        "config": {"prefix": "invalid value: 1x"}}
    assert _violation(client.post("/vaults", json={
        "name": "env", "prefix": "pp", "config": {"other": 1}})) == {
        "config": {"other": "unknown field"}}
    assert client.post("/vaults", json={"name": "env", "prefix": "pp"}).get_json()[
        "config"] == {"prefix": None}


@pytest.mark.parametrize("field", ["cert", "key"])
def test_references_are_stored_as_given(client, field, db):
    body = {"cert": RSA.cert, "key": RSA.key, field: "{vault://env/tls-" + field + "}"}
    created = client.post("/certificates", json=body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()[field] == body[field]
    raw = db.strategy.select(db.certificates.table, created.get_json()["id"])
    assert raw[field] == body[field]
    both = _cert(client, RSA2, cert_alt="{vault://my-env/alt/cert}",
                 key_alt="{vault://my-env/alt/key}")
    assert both["key_alt"] == "{vault://my-env/alt/key}"


def test_ca_certificate_key_must_be_a_uuid(client):
    # ca_certificates have no endpoint key: Kong's DAO validates the primary key
    invalid = {"code": 1, "name": "invalid primary key",
               "message": "invalid primary key: '{id=\"expected a valid UUID\"}'",
               "fields": {"id": "expected a valid UUID"}}
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        resp = client.open("/ca_certificates/not-a-uuid", method=method,
                           json={} if method in ("PUT", "PATCH") else None)
        assert resp.status_code == 400, method
        assert resp.get_json() == invalid, method
    missing = "/ca_certificates/00000000-0000-0000-0000-000000000000"
    assert client.get(missing).status_code == 404
    assert client.delete(missing).status_code == 204
