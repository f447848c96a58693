"""`kongpy config db_export [FILE]`: the datastore as a declarative configuration."""
from __future__ import annotations

import os

import click

from kongpy.cli._common import conf_option, prefix_option, verbosity
from kongpy.cli._declarative import CommandError, datastore
from kongpy.declarative import export as exporter


@click.command("db_export")
@click.argument("path", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@conf_option
@prefix_option
@verbosity
def db_export(path: str | None, conf_path: str | None, prefix: str | None) -> None:
    """Export the datastore to a declarative configuration file (default kong.yml; - for stdout)."""
    path = path if path == "-" else os.path.abspath(path or "kong.yml")
    if path != "-" and os.path.exists(path):
        raise CommandError(f"{path} already exists. Will not overwrite it.")
    with datastore(conf_path, prefix, "db_export") as db:
        text = exporter.to_yaml(exporter.export(db))
    if path == "-":
        click.echo(text, nl=False)
        return
    # Exclusive creation: a file that appeared meanwhile is not overwritten either.
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
