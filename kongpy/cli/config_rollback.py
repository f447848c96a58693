"""`kongpy config rollback VERSION`: restore a stored configuration version."""
from __future__ import annotations

import click

from kongpy.cli._common import conf_option, prefix_option, verbosity
from kongpy.cli._declarative import datastore, history_size
from kongpy.declarative import history


@click.command("rollback")
@click.argument("version", type=click.IntRange(min=1))
@conf_option
@prefix_option
@verbosity
def rollback(version: int, conf_path: str | None, prefix: str | None) -> None:
    """Restore configuration VERSION (as a new version); running nodes follow."""
    with datastore(conf_path, prefix, "rollback") as db:
        meta = history.rollback(db, version, history.CLI_ORIGIN, history_size(conf_path, prefix))
    click.echo(f"rolled back to version {version}: now version {meta['version']}")
