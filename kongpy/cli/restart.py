"""`kongpy restart`: check everything start would, then stop (if running) and start.

The checks come first, so a configuration the node cannot start with never
takes a running node down.
"""
from __future__ import annotations

import signal

import click

from kongpy.cli import _node, _preflight
from kongpy.cli.migrations import db_timeout_option, db_timeout_overrides, migrate_for_start
from kongpy.cli._common import (conf_option, load_config, prefix_option,
                                start_timeout_option, verbosity)
from kongpy.cli.start import run_migrations_option, start_node
from kongpy.render import writer


@click.command()
@conf_option
@prefix_option
@start_timeout_option
@run_migrations_option
@db_timeout_option
@verbosity
def restart(conf_path: str | None, prefix: str | None, timeout: float,
            run_migrations: bool, db_timeout: float | None) -> None:
    """Restart kongpy."""
    config = load_config(conf_path, prefix, overrides=db_timeout_overrides(db_timeout))
    if run_migrations:
        ran = migrate_for_start(config, True)
        if ran:
            click.echo(f"{len(ran)} migrations processed")
    _preflight.snapshot_to_serve(config)
    writer.prepare(config, swap=False)
    _node.stop(config["prefix"], signal.SIGTERM, 10)
    start_node(config, timeout)
    click.echo("kongpy started")
    click.echo(_node.listeners(config))
