"""jwt: its config schema, the jwt_secrets DAO (key checks) and Admin API paths."""
from __future__ import annotations

import subprocess

import pytest

from kongpy.sync import model

ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384",
              "PS512", "EdDSA")
CONDITIONAL = "failed conditional validation given value of field 'algorithm'"


def _post(client, path, body, status=201):
    resp = client.post(path, json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


@pytest.fixture(scope="module")
def public_key() -> str:
    private = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                              "ec_paramgen_curve:P-256"], capture_output=True, check=True)
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=private.stdout,
                            capture_output=True, check=True)
    return public.stdout.decode()


def test_config_defaults(client):
    plugin = _post(client, "/plugins", {"name": "jwt"})
    assert plugin["config"] == {
        "uri_param_names": ["jwt"], "cookie_names": [], "key_claim_name": "iss",
        "secret_is_base64": False, "claims_to_verify": None, "anonymous": None,
        "run_on_preflight": True, "maximum_expiration": 0,
        "header_names": ["authorization"], "realm": None}


def test_config_errors(client):
    body = _post(client, "/plugins", {"name": "jwt",
                                      "config": {"claims_to_verify": ["exp", "iat"]}}, 400)
    assert body["fields"] == {"config": {"claims_to_verify": [None,
                                                              "expected one of: exp, nbf"]}}
    body = _post(client, "/plugins", {"name": "jwt",
                                      "config": {"maximum_expiration": 31536001}}, 400)
    assert body["fields"] == {"config": {
        "maximum_expiration": "value should be between 0 and 31536000"}}
    body = _post(client, "/plugins", {"name": "jwt",
                                      "config": {"maximum_expiration": 60}}, 400)
    assert body["fields"] == {"@entity": [
        "failed conditional validation given value of field 'config.maximum_expiration'"]}
    body = _post(client, "/plugins", {"name": "jwt", "config": {
        "maximum_expiration": 60, "claims_to_verify": ["nbf"]}}, 400)
    assert "@entity" in body["fields"]
    ok = _post(client, "/plugins", {"name": "jwt", "config": {
        "maximum_expiration": 60, "claims_to_verify": ["exp", "exp", "nbf"],
        "cookie_names": ["tok"], "realm": "r"}})
    assert ok["config"]["claims_to_verify"] == ["exp", "nbf"]


def test_secrets_defaults_and_crud(client, db):
    bob = _post(client, "/consumers", {"username": "bob"})
    cred = _post(client, "/consumers/bob/jwt", {})
    assert set(cred) == {"id", "created_at", "consumer", "key", "secret", "rsa_public_key",
                         "algorithm", "tags"}
    assert len(cred["key"]) == 32 and len(cred["secret"]) == 32
    assert cred["key"] != cred["secret"]
    assert cred["algorithm"] == "HS256" and cred["rsa_public_key"] is None
    given = _post(client, "/consumers/bob/jwt", {"key": "iss-1", "secret": "s",
                                                 "algorithm": "HS512"})
    assert given["key"] == "iss-1" and given["secret"] == "s"
    dup = _post(client, "/consumers/bob/jwt", {"key": "iss-1"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{key=\"iss-1\"}'"
    assert client.get("/consumers/bob/jwt/iss-1").get_json() == given
    assert client.get(f"/jwts/{cred['id']}").get_json() == cred
    assert client.get("/jwts/iss-1/consumer").get_json() == bob
    bad = _post(client, "/consumers/bob/jwt", {"algorithm": "none"}, 400)
    assert bad["fields"]["algorithm"].startswith("expected one of: HS256, HS384, HS512, RS256")
    patched = client.patch("/jwts/iss-1", json={"tags": ["t"]}).get_json()
    assert patched["secret"] == "s" and patched["key"] == "iss-1"
    snap = model.document(db)
    assert sorted(s["key"] for s in snap["jwt_secrets"]) == sorted([cred["key"], "iss-1"])
    assert client.delete("/consumers/bob").status_code == 204
    assert client.get("/jwts").get_json() == {"data": [], "next": None}


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_asymmetric_algorithms_need_a_valid_key(client, algorithm, public_key):
    _post(client, "/consumers", {"username": "bob"})
    body = _post(client, "/consumers/bob/jwt", {"algorithm": algorithm}, 400)
    assert body["fields"] == {"rsa_public_key": "required field missing",
                              "@entity": [CONDITIONAL]}
    for bad in ("not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
                "-----END PUBLIC KEY-----\n"):
        body = _post(client, "/consumers/bob/jwt", {"algorithm": algorithm,
                                                    "rsa_public_key": bad}, 400)
        assert body["fields"] == {"rsa_public_key": "invalid key", "@entity": [CONDITIONAL]}
    ok = _post(client, "/consumers/bob/jwt", {"algorithm": algorithm,
                                              "rsa_public_key": public_key})
    assert ok["rsa_public_key"] == public_key
    again = client.patch(f"/jwts/{ok['id']}", json={"rsa_public_key": "junk"})
    assert again.status_code == 400
    assert again.get_json()["fields"]["rsa_public_key"] == "invalid key"


def test_symmetric_algorithms_ignore_the_key(client):
    _post(client, "/consumers", {"username": "bob"})
    cred = _post(client, "/consumers/bob/jwt", {"algorithm": "HS384",
                                                "rsa_public_key": "anything"})
    assert cred["rsa_public_key"] == "anything"
