"""jwt: its config schema, the jwt_secrets DAO (key checks) and Admin API paths."""
from __future__ import annotations

import subprocess

import pytest

from kongpy.sync import model
from tests.helpers.http import admin

ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384",
              "PS512", "EdDSA")
CONDITIONAL = "failed conditional validation given value of field 'algorithm'"


@pytest.fixture(scope="module")
def public_key() -> str:
    private = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                              "ec_paramgen_curve:P-256"], capture_output=True, check=True)
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=private.stdout,
                            capture_output=True, check=True)
    return public.stdout.decode()


def test_config_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "jwt"})
    assert plugin["config"] == {
        "uri_param_names": ["jwt"], "cookie_names": [], "key_claim_name": "iss",
        "secret_is_base64": False, "claims_to_verify": None, "anonymous": None,
        "run_on_preflight": True, "maximum_expiration": 0,
        "header_names": ["authorization"], "realm": None}


def test_config_errors(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "jwt",
                                 "config": {"claims_to_verify": ["exp", "iat"]}}, 400)
    assert body["fields"] == {"config": {"claims_to_verify": [None,
                                                              "expected one of: exp, nbf"]}}
    body = api.post("/plugins", {"name": "jwt",
                                 "config": {"maximum_expiration": 31536001}}, 400)
    assert body["fields"] == {"config": {
        "maximum_expiration": "value should be between 0 and 31536000"}}
    # Kong's conditional check passes a null claims_to_verify: only a list
    # without "exp" is refused
    lax = api.post("/plugins", {"name": "jwt", "config": {"maximum_expiration": 60}})
    assert lax["config"]["claims_to_verify"] is None
    api.delete(f"/plugins/{lax['id']}")
    body = api.post("/plugins", {"name": "jwt", "config": {
        "maximum_expiration": 60, "claims_to_verify": ["nbf"]}}, 400)
    assert body["fields"] == {
        "@entity": ["failed conditional validation given value of field "
                    "'config.maximum_expiration'"],
        "config": {"claims_to_verify": "expected to contain: exp"}}
    ok = api.post("/plugins", {"name": "jwt", "config": {
        "maximum_expiration": 60, "claims_to_verify": ["exp", "exp", "nbf"],
        "cookie_names": ["tok"], "realm": "r"}})
    assert ok["config"]["claims_to_verify"] == ["exp", "nbf"]


def test_secrets_defaults_and_crud(client, db):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    cred = api.post("/consumers/bob/jwt", {})
    assert set(cred) == {"id", "created_at", "consumer", "key", "secret", "rsa_public_key",
                         "algorithm", "tags"}
    assert len(cred["key"]) == 32 and len(cred["secret"]) == 32
    assert cred["key"] != cred["secret"]
    assert cred["algorithm"] == "HS256" and cred["rsa_public_key"] is None
    given = api.post("/consumers/bob/jwt", {"key": "iss-1", "secret": "s",
                                            "algorithm": "HS512"})
    assert given["key"] == "iss-1" and given["secret"] == "s"
    dup = api.post("/consumers/bob/jwt", {"key": "iss-1"}, 409)
    assert dup["message"] == "UNIQUE violation detected on '{key=\"iss-1\"}'"
    assert api.get("/consumers/bob/jwt/iss-1") == given
    assert api.get(f"/jwts/{cred['id']}") == cred
    assert api.get("/jwts/iss-1/consumer") == bob
    bad = api.post("/consumers/bob/jwt", {"algorithm": "none"}, 400)
    assert bad["fields"]["algorithm"].startswith("expected one of: HS256, HS384, HS512, RS256")
    patched = api.patch("/jwts/iss-1", {"tags": ["t"]})
    assert patched["secret"] == "s" and patched["key"] == "iss-1"
    snap = model.document(db)
    assert sorted(s["key"] for s in snap["jwt_secrets"]) == sorted([cred["key"], "iss-1"])
    api.delete("/consumers/bob")
    assert api.get("/jwts") == {"data": [], "next": None}


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_asymmetric_algorithms_need_a_valid_key(client, algorithm, public_key):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    body = api.post("/consumers/bob/jwt", {"algorithm": algorithm}, 400)
    assert body["fields"] == {"rsa_public_key": "required field missing",
                              "@entity": [CONDITIONAL]}
    for bad in ("not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
                "-----END PUBLIC KEY-----\n"):
        body = api.post("/consumers/bob/jwt", {"algorithm": algorithm,
                                               "rsa_public_key": bad}, 400)
        assert body["fields"] == {"rsa_public_key": "invalid key", "@entity": [CONDITIONAL]}
    ok = api.post("/consumers/bob/jwt", {"algorithm": algorithm,
                                         "rsa_public_key": public_key})
    assert ok["rsa_public_key"] == public_key
    again = api.patch(f"/jwts/{ok['id']}", {"rsa_public_key": "junk"}, 400)
    assert again["fields"]["rsa_public_key"] == "invalid key"


def test_symmetric_algorithms_ignore_the_key(client):
    api = admin(client)
    api.post("/consumers", {"username": "bob"})
    cred = api.post("/consumers/bob/jwt", {"algorithm": "HS384",
                                           "rsa_public_key": "anything"})
    assert cred["rsa_public_key"] == "anything"
