"""`kongpy check <conf>`: validate a configuration file."""
from __future__ import annotations

import click

from kongpy import plugins
from kongpy.cli._common import load_config, verbosity


@click.command()
@click.argument("conf_path", metavar="CONF")
@verbosity
def check(conf_path: str) -> None:
    """Check the validity of a configuration file (and of its plugins)."""
    config = load_config(conf_path)
    for line in plugins.unserved_api(plugins.load(config)):
        click.echo(f"Warning: {line}", err=True)
    click.echo(f"configuration at {conf_path} is valid")
