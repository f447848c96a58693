"""`kongpy config diff VERSION [--against OTHER]`: what changed between two versions (JSON)."""
from __future__ import annotations

import json

import click

from kongpy.cli._common import conf_option, prefix_option, verbosity
from kongpy.cli._declarative import datastore
from kongpy.declarative import history


@click.command("diff")
@click.argument("version", type=click.IntRange(min=1))
@click.option("--against", type=click.IntRange(min=1), default=None,
              help="The version to compare with (default: the one before VERSION).")
@conf_option
@prefix_option
@verbosity
def diff(version: int, against: int | None, conf_path: str | None,
         prefix: str | None) -> None:
    """Show what changed from --against (default VERSION-1) to VERSION (docs/history.md)."""
    with datastore(conf_path, prefix, "diff") as db:
        found = history.compare(db, version, against)
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))
