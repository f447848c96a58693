"""`kongpy config parse FILE`: check a declarative configuration (Kong's `kong config parse`)."""
from __future__ import annotations

import click

from kongpy import declarative
from kongpy.cli._common import conf_option, prefix_option, verbosity
from kongpy.cli._declarative import CommandError, datastore, read_file


@click.command("parse")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@conf_option
@prefix_option
@verbosity
def parse(path: str | None, conf_path: str | None, prefix: str | None) -> None:
    """Parse a declarative configuration file (check it) without loading it."""
    text = read_file(path)
    with datastore(conf_path, prefix, "parse") as db:
        try:
            declarative.parse(text, db, path)
        except declarative.DeclarativeError as exc:
            raise CommandError("Failed parsing:\n" + failure(exc)) from None
    click.echo("parse successful")


def failure(exc: declarative.DeclarativeError) -> str:
    return exc.message.split("\n", 1)[1] if "\n" in exc.message else exc.message
