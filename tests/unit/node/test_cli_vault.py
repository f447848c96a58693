"""`kongpy vault get <reference>` (Kong's `kong vault get`)."""
from __future__ import annotations

from click.testing import CliRunner

from kongpy import conf, db
from kongpy.cli import main


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["vault", *args], env=env)


def test_get_needs_a_reference(make_conf):
    result = run("get", "-c", make_conf())
    assert result.exit_code == 1
    assert result.output.startswith("Error: the 'get' command needs a <reference> argument")


def test_get_from_the_env_vault(make_conf, workdir):
    path = make_conf()
    for reference in ("env/secrets_test", "{vault://env/secrets_test}"):
        result = run("get", reference, "-c", path, env={"SECRETS_TEST": "testvalue"})
        assert (result.exit_code, result.output) == (0, "testvalue\n"), reference
    missing = run("get", "env/none", "-c", path)
    assert missing.exit_code == 1
    assert missing.output.startswith("Error: ") and "[{vault://env/none}]" in missing.output
    unknown = run("get", "none/foo", "-c", path)
    assert unknown.output == "Error: vault not found (none) [{vault://none/foo}]\n"
    # the env vault needs no datastore: none was made
    assert not (workdir / "prefix" / "kongpy.db").exists()


def test_get_through_a_vault_entity(make_conf):
    path = make_conf()
    assert CliRunner().invoke(main, ["migrations", "bootstrap", "-c", path]).exit_code == 0
    handle = db.open(conf.load(path, env={}))
    try:
        handle.vaults.insert({"name": "env", "prefix": "test-env",
                              "config": {"prefix": "SECRETS_"}})
    finally:
        handle.close()
    result = run("get", "test-env/test", "-c", path, env={"SECRETS_TEST": "fromentity"})
    assert (result.exit_code, result.output) == (0, "fromentity\n")
