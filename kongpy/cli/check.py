"""`kongpy check <conf>`: validate a configuration file."""
from __future__ import annotations

import click

from kongpy.cli._common import load_config, verbosity


@click.command()
@click.argument("conf_path", metavar="CONF")
@verbosity
def check(conf_path: str) -> None:
    """Check the validity of a configuration file."""
    load_config(conf_path)
    click.echo(f"configuration at {conf_path} is valid")
