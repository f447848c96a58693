"""`kongpy admin token create|list|revoke`: the Admin API's tokens.

They work on the datastore directly, so with the node stopped or running, and
every node sharing the datastore sees the change within a second.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from kongpy.cli._common import Group, conf_option, load_config, prefix_option, verbosity
from kongpy.cli.migrations import NEEDS_BOOTSTRAP, NEW_AVAILABLE
from kongpy.db import admin_tokens


@contextmanager
def _strategy(conf_path: str | None, prefix: str | None) -> Iterator[Any]:
    from kongpy import db  # only commands that touch the datastore need it

    database = db.open(load_config(conf_path, prefix))
    try:
        state = database.migrations.state()
        if not state["bootstrapped"] and database.database == "sqlite":
            # The embedded store bootstraps itself, as the Admin API does.
            database.migrations.bootstrap()
        elif not state["bootstrapped"]:
            raise click.ClickException(NEEDS_BOOTSTRAP)
        elif admin_tokens.STEP in state["new"]:
            raise click.ClickException(NEW_AVAILABLE)
        yield database.strategy
    finally:
        database.close()


def _options(func: Callable) -> Callable:
    return conf_option(prefix_option(verbosity(func)))


@click.group(cls=Group)
def admin() -> None:
    """The Admin API."""


@admin.group(cls=Group)
def token() -> None:
    """Tokens for the Kong-Admin-Token header (admin_auth = token)."""


@token.command()
@click.argument("name")
@click.option("--read-only", is_flag=True, help="The token may only read (GET, HEAD).")
@_options
def create(name: str, read_only: bool, conf_path: str | None, prefix: str | None) -> None:
    """Create token NAME and print it (it is shown only this once)."""
    with _strategy(conf_path, prefix) as strategy:
        click.echo(admin_tokens.create(strategy, name, read_only))


@token.command(name="list")
@_options
def list_(conf_path: str | None, prefix: str | None) -> None:
    """List the tokens: name, access and creation time (never the token)."""
    with _strategy(conf_path, prefix) as strategy:
        rows = admin_tokens.rows(strategy)
    width = max([len("name")] + [len(row["name"]) for row in rows])
    click.echo(f"{'name'.ljust(width)}  {'access'.ljust(10)}  created")
    for row in rows:
        access = "read-only" if row["read_only"] else "read-write"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created_at"]))
        click.echo(f"{row['name'].ljust(width)}  {access.ljust(10)}  {created}")


@token.command()
@click.argument("name")
@_options
def revoke(name: str, conf_path: str | None, prefix: str | None) -> None:
    """Revoke token NAME: every node refuses it within a second."""
    with _strategy(conf_path, prefix) as strategy:
        admin_tokens.revoke(strategy, name)
    click.echo(f"admin token '{name}' revoked")
