"""The ``keys`` and ``key_sets`` schemas: Kong 3.9's fields, checks and messages."""
import pytest

from kongpy.schemas import KeySchema, KeySetSchema
from kongpy.schemas.jwk import errors_to_string, loads

from tests.helpers.keys import ec_jwk, jwk_text, okp_jwk, pem_pair, rsa_jwk

AT_LEAST_ONE = "at least one of these fields must be non-empty: 'jwk', 'pem'"
ONLY_ONE = "only one or none of these fields must be set: 'jwk', 'pem'"
NOT_LOADED = "could not load JWK, likely not a valid key"


def _entity(violation, body):
    return violation(KeySchema, body)["fields"]


@pytest.mark.parametrize("members", [rsa_jwk("k"), rsa_jwk("k", private=False), ec_jwk("k"),
                                     okp_jwk("k")], ids=["rsa", "rsa-public", "ec", "okp"])
def test_jwk_keys_of_every_kind_load(members):
    key = KeySchema.validate({"kid": "k", "jwk": jwk_text(members)})
    assert key["jwk"] == jwk_text(members) and key["pem"] is None and key["set"] is None


def test_pem_pair_and_halves():
    pair = pem_pair()
    for pem in ({"public_key": pair.public_key, "private_key": pair.private_key},
                {"public_key": pair.public_key}, {"private_key": pair.private_key}):
        assert KeySchema.validate({"kid": "p", "pem": pem})["pem"] == {
            "private_key": pem.get("private_key"), "public_key": pem.get("public_key")}


def test_kid_is_required_and_a_format_too(violation):
    assert _entity(violation, {"jwk": jwk_text(rsa_jwk("k"))}) == {
        "kid": "required field missing"}
    assert _entity(violation, {"kid": "k"}) == {"@entity": [AT_LEAST_ONE]}


def test_jwk_checks_in_kongs_order(violation):
    assert _entity(violation, {"kid": "35", "jwk": '"kid":test'}) == {
        "@entity": ["could not json decode jwk string"]}
    assert _entity(violation, {"kid": "other", "jwk": jwk_text(rsa_jwk("k"))}) == {
        "@entity": ["kid in jwk.kid must be equal to keys.kid"]}
    for text in ('["k"]', '"k"', "12"):
        assert _entity(violation, {"kid": "k", "jwk": text}) == {
            "@entity": ["kid in jwk.kid must be equal to keys.kid"]}
    # Kong's later spec: a JWK with a kid alone is no key.
    body = violation(KeySchema, {"kid": "36", "jwk": '{"kid": "36"}'})
    assert body["message"] == f"schema violation ({NOT_LOADED})"
    oct_key = {"kty": "oct", "kid": "s", "k": "c2VjcmV0"}
    assert _entity(violation, {"kid": "s", "jwk": jwk_text(oct_key)}) == {"@entity": [NOT_LOADED]}


def test_jwk_members_checked_against_kongs_record(violation):
    extra = dict(rsa_jwk("k"), ext=True, use=1)
    assert _entity(violation, {"kid": "k", "jwk": jwk_text(extra)}) == {
        "@entity": ["ext: unknown field; use: expected a string"]}


def test_jwk_and_pem_are_mutually_exclusive(violation):
    pair = pem_pair()
    assert _entity(violation, {"kid": "k", "jwk": jwk_text(rsa_jwk("k")),
                               "pem": {"public_key": pair.public_key}}) == {"@entity": [ONLY_ONE]}


def test_pem_checks(violation):
    pair, other = pem_pair(), pem_pair(seed=1)
    assert _entity(violation, {"kid": "p", "pem": {}}) == {
        "pem": {"@entity": ["at least one of these fields must be non-empty: "
                            "'private_key', 'public_key'"]}}
    assert _entity(violation, {"kid": "p", "pem": {"public_key": "nope"}}) == {
        "pem": "could not load public key"}
    # A private key is not a public key (Kong loads each as its kind).
    assert _entity(violation, {"kid": "p", "pem": {"public_key": pair.private_key}}) == {
        "pem": "could not load public key"}
    fields = _entity(violation, {"kid": "p", "pem": {"private_key": pair.public_key}})
    assert fields["pem"].startswith("could not load private keypkey.new:load_key: ")
    assert _entity(violation, {"kid": "p", "pem": {"public_key": other.public_key,
                                                   "private_key": pair.private_key}}) == {
        "pem": "public key does not match private key"}
    assert _entity(violation, {"kid": "p", "pem": {"public_key": pair.public_key, "x": "y"}}) \
        == {"pem": {"x": "unknown field"}}


def test_vault_references_are_not_checked():
    ref = "{vault://env/jwk}"
    assert KeySchema.validate({"kid": "k", "jwk": ref})["jwk"] == ref
    pem = KeySchema.validate({"kid": "k", "pem": {"private_key": ref,
                                                  "public_key": pem_pair().public_key}})
    assert pem["pem"]["private_key"] == ref


def test_key_set_fields_and_descriptions():
    assert KeySetSchema.validate({"name": "s", "tags": ["a"]}) == {
        "id": None, "name": "s", "tags": ["a"], "created_at": None, "updated_at": None}
    assert [next(iter(f)) for f in KeySetSchema.describe()["fields"]] == [
        "id", "name", "tags", "created_at", "updated_at"]
    described = KeySchema.describe()
    assert [next(iter(f)) for f in described["fields"]] == [
        "id", "set", "name", "kid", "jwk", "pem", "tags", "created_at", "updated_at"]
    assert described["fields"][1]["set"] == {"type": "foreign", "reference": "key_sets",
                                             "on_delete": "cascade"}
    assert described["entity_checks"][:2] == [{"mutually_exclusive": ["jwk", "pem"]},
                                              {"at_least_one_of": ["jwk", "pem"]}]


def test_loads_and_errors_to_string_edges():
    assert not loads({"kty": "RSA", "n": "!!"})
    assert not loads({"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA"})
    assert errors_to_string({"b": "x", "@entity": ["e"], "a": {"c": "y"}}) == "e; a: c: y; b: x"
