"""`kongpy version`."""
from __future__ import annotations

import click

import kongpy
from kongpy.cli._common import verbosity


@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Also show component versions.")
@verbosity
def version(show_all: bool) -> None:
    """Print the kongpy version."""
    click.echo(f"kongpy {kongpy.__version__}")
    if show_all:
        click.echo(f"kong_version: {kongpy.KONG_VERSION}")
