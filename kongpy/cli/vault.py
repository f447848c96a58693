"""`kongpy vault get <reference>`: print the value of a vault reference
(Kong's `kong vault get`), as the node would resolve it.

The short form `env/my-secret` stands for `{vault://env/my-secret}`. Vault
entities (`/vaults`) come from the datastore of the prefix's node, read only
when that datastore has been bootstrapped; the `env` vault needs none. The
value is printed and nothing else: no log line ever carries it.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import click

from kongpy import dbless, secrets
from kongpy.cli._common import Group, conf_option, prefix_option, verbosity
from kongpy.cli._declarative import node_config
from kongpy.cli.migrations import empty_sqlite, open_datastore
from kongpy.schemas.references import is_reference

NO_REFERENCE = "the 'get' command needs a <reference> argument \nkongpy vault get <reference>"


@click.group(cls=Group)
def vault() -> None:
    """Vault utilities (example: TEST=hello kongpy vault get env/test)."""


def _vault_entities(config: Mapping[str, Any]) -> list[dict]:
    if config["database"] == "sqlite" and empty_sqlite(config["sqlite_path"]):
        return []
    if dbless.enabled(config) and empty_sqlite(dbless.store_path(config)):
        return []
    with open_datastore(config) as database:
        if not database.migrations.state()["bootstrapped"]:
            return []
        return list(database.vaults.each())


@vault.command()
@click.argument("reference", required=False)
@conf_option
@prefix_option
@verbosity
def get(reference: str | None, conf_path: str | None, prefix: str | None) -> None:
    """Print the value REFERENCE ({vault://...} or <vault>/<resource>[/<key>]) resolves to."""
    if not reference:
        raise click.ClickException(NO_REFERENCE)
    if not is_reference(reference):
        reference = f"{{vault://{reference}}}"
    config = node_config(conf_path, prefix)
    resolver = secrets.Resolver(os.environ, _vault_entities(config),
                                config.get("vault_env_prefix"))
    try:
        value = resolver.resolve(reference)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(value)
