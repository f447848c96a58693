"""Vault references: the grammar, the env vault, and kongpy.conf properties."""
import pytest

from kongpy import conf
from kongpy.errors import ConfigError
from kongpy.schemas.references import is_reference, parse
from kongpy.secrets import Resolver, referenceable_paths, references_in


def test_grammar():
    assert is_reference("{vault://env/x}") and not is_reference("vault://env/x")
    assert not is_reference("{vault://env/x") and not is_reference(None)
    ref = parse("{vault://my-vault/db/password?prefix=APP_#2}")
    assert (ref.name, ref.resource, ref.key, ref.version, ref.config) == (
        "my-vault", "db", "password", 2, {"prefix": "APP_"})
    assert parse("{vault://env/a/b/c}")[1:3] == ("a/b", "c")
    for bad, why in (("{vault:///x}", "missing host"), ("{vault://env/}", "empty path"),
                     ("{vault://env/x#v1}", "invalid version")):
        with pytest.raises(ValueError, match=why):
            parse(bad)


def test_env_vault():
    environ = {"MY_SECRET": "v1", "MY_SECRET_PREVIOUS": "v0", "APP_TOKEN": "t",
               "DOC": '{"user": "u", "n": 1}', "P_X": "px"}
    vaults = [{"prefix": "app-vault", "name": "env", "config": {"prefix": "APP_"}}]
    r = Resolver(environ, vaults)
    assert r.resolve("{vault://env/my-secret}") == "v1"
    assert r.resolve("{vault://env/my-secret#2}") == "v0"
    assert r.resolve("{vault://app-vault/token}") == "t"
    assert r.resolve("{vault://env/doc/user}") == "u"
    assert r.resolve("{vault://env/x?prefix=P_}") == "px"
    assert Resolver(environ, env_prefix="APP_").resolve("{vault://env/token}") == "t"
    for ref, why in (("{vault://env/absent}", "no value found"),
                     ("{vault://nowhere/x}", "vault not found"),
                     ("{vault://env/doc/n}", "subfield n not found"),
                     ("{vault://env/my-secret/k}", "unable to json decode")):
        with pytest.raises(ValueError, match=why) as exc:
            r.resolve(ref)
        assert "v1" not in str(exc.value)
    values, reasons = r.resolve_all(["{vault://env/my-secret}", "{vault://env/absent}"])
    assert values == {"{vault://env/my-secret}": "v1"} and list(reasons) == [
        "{vault://env/absent}"]


def test_only_referenceable_fields_are_collected():
    schema = {"fields": [{"config": {"type": "record", "fields": [
        {"secret": {"type": "string", "referenceable": True}},
        {"plain": {"type": "string"}},
        {"list": {"type": "array", "elements": {"type": "string", "referenceable": True}}},
        {"redis": {"type": "record", "fields": [
            {"password": {"type": "string", "referenceable": True}}]}},
    ]}}]}
    paths = referenceable_paths(schema)
    assert paths == [("secret",), ("list", "*"), ("redis", "password")]
    body = {"plugins": [{"name": "p", "config": {
        "secret": "{vault://env/a}", "plain": "{vault://env/literal}",
        "list": ["{vault://env/b}", "x"], "redis": {"password": "{vault://env/c}"}}}],
            "certificates": [{"cert": "{vault://env/d}", "key": "-----BEGIN", "cert_alt": None}]}
    assert references_in(body, {"p": paths}) == {
        "{vault://env/a}", "{vault://env/b}", "{vault://env/c}", "{vault://env/d}"}


def test_conf_properties(tmp_path):
    environ = {"APP_PG_PASS": "s3cr3t", "APP_CREDS": '{"user": "bob"}'}
    config = conf.load(None, env={}, vault_env=environ, overrides={
        "prefix": str(tmp_path), "vault_env_prefix": "APP_",
        "pg_password": "{vault://env/pg-pass}", "pg_user": "{vault://env/creds/user}"})
    assert (config["pg_password"], config["pg_user"]) == ("s3cr3t", "bob")
    shown = config.redacted()
    assert (shown["pg_password"], shown["pg_user"]) == ("******", "{vault://env/creds/user}")
    dumped = config.dump()
    assert "pg_user = {vault://env/creds/user}" in dumped and "s3cr3t" not in dumped
    assert "bob" not in dumped
    with pytest.raises(ConfigError, match="cannot resolve the vault reference of 'pg_password'"):
        conf.load(None, env={}, vault_env={}, overrides={
            "prefix": str(tmp_path), "pg_password": "{vault://env/missing}"})
