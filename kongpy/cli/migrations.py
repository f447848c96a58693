"""`kongpy migrations ...`: thin commands over `db.migrations`."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any

import click

from kongpy import dbless
from kongpy.cli._common import Group, conf_option, load_config, prefix_option, verbosity
from kongpy.conf import Config
from kongpy.supervisor import pidfile

log = logging.getLogger(__name__)

NEEDS_BOOTSTRAP = ("Database needs bootstrapping or is older than Kong 1.0.\n\n"
                   "To start a new installation from scratch, run "
                   "'kongpy migrations bootstrap'.")
NEW_AVAILABLE = "New migrations available; run 'kongpy migrations up' to proceed"
PENDING = "Database has pending migrations; run 'kongpy migrations finish'"
UP_TO_DATE = "Database is up-to-date"


@contextmanager
def open_datastore(config: Config) -> Iterator[Any]:
    """The node's datastore, open for one command."""
    from kongpy import db  # only the commands that touch the datastore need it

    database = db.open(config)
    try:
        yield database
    finally:
        database.close()


def empty_sqlite(path: str) -> bool:
    """No file yet, or a file without a single table."""
    if not os.path.exists(path):
        return True
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    except sqlite3.Error:
        return False


def migrate_for_start(config: Config, run_migrations: bool) -> list[str]:
    """What start does to the schema: with ``--run-migrations`` (Kong's),
    bootstrap a fresh datastore, run new steps and finish pending ones; without
    it, bootstrap only an empty SQLite file (the embedded default needs no
    separate step). Returns what ran."""
    fresh_file = (config["database"] == "sqlite" and empty_sqlite(config["sqlite_path"])) \
        or (dbless.enabled(config) and empty_sqlite(dbless.store_path(config)))
    with open_datastore(config) as database:
        state = database.migrations.state()
        if not state["bootstrapped"]:
            if run_migrations or fresh_file:
                return database.migrations.bootstrap()
            return []
        if not run_migrations:
            return []
        ran = database.migrations.up() if state["new"] else []
        return ran + database.migrations.finish()


def _run(conf_path: str | None, prefix: str | None, action: Callable[[Any], None]) -> None:
    with open_datastore(load_config(conf_path, prefix)) as database:
        action(database)


def _names(title: str, names: list[str]) -> None:
    """One line per subsystem: core, then each plugin (``<plugin>:<step>`` names)."""
    if not names:
        return
    groups: dict[str, list[str]] = {}
    for name in names:
        subsystem, _, step = name.rpartition(":")
        groups.setdefault(subsystem or "core", []).append(step)
    width = max(len(g) for g in groups)
    lines = [f"  {g.rjust(width)}: {', '.join(steps)}" for g, steps in groups.items()]
    click.echo(f"{title}:\n" + "\n".join(lines))


@click.group(cls=Group)
def migrations() -> None:
    """Manage the datastore schema."""


def _common(func: Callable) -> Callable:
    return conf_option(prefix_option(verbosity(func)))


@migrations.command()
@_common
def bootstrap(conf_path: str | None, prefix: str | None) -> None:
    """Bootstrap a fresh datastore."""
    def action(database: Any) -> None:
        state = database.migrations.state()
        if state["bootstrapped"]:
            click.echo("Database already bootstrapped")
            if state["new"]:  # e.g. a bootstrap that failed midway
                click.echo(NEW_AVAILABLE)
            return
        click.echo("Bootstrapping database...")
        ran = database.migrations.bootstrap()
        click.echo(f"{len(ran)} migrations processed\n{UP_TO_DATE}")
    _run(conf_path, prefix, action)


@migrations.command()
@_common
def up(conf_path: str | None, prefix: str | None) -> None:
    """Run any new migrations."""
    def action(database: Any) -> None:
        if not database.migrations.state()["bootstrapped"]:
            raise click.ClickException(NEEDS_BOOTSTRAP)
        ran = database.migrations.up()
        if not ran:
            click.echo("Database is already up-to-date")
            return
        _names("Migrations processed", ran)
        state = database.migrations.state()
        click.echo(PENDING if state["pending"] else UP_TO_DATE)
    _run(conf_path, prefix, action)


@migrations.command()
@_common
def finish(conf_path: str | None, prefix: str | None) -> None:
    """Finish pending migrations."""
    def action(database: Any) -> None:
        if not database.migrations.state()["bootstrapped"]:
            raise click.ClickException(NEEDS_BOOTSTRAP)
        done = database.migrations.finish()
        if not done:
            click.echo("No pending migrations to finish")
            return
        _names("Migrations finished", done)
        click.echo(UP_TO_DATE)
    _run(conf_path, prefix, action)


@migrations.command(name="list")
@_common
def list_(conf_path: str | None, prefix: str | None) -> None:
    """List executed, pending and new migrations."""
    def action(database: Any) -> None:
        state = database.migrations.state()
        if not state["bootstrapped"]:
            raise click.ClickException(NEEDS_BOOTSTRAP)
        _names("Executed migrations", state["executed"])
        _names("Pending migrations", state["pending"])
        _names("New migrations available", state["new"])
        click.echo(NEW_AVAILABLE if state["new"] else PENDING if state["pending"]
                   else UP_TO_DATE)
    _run(conf_path, prefix, action)


@migrations.command()
@_common
def status(conf_path: str | None, prefix: str | None) -> None:
    """Print the migration state as JSON."""
    _run(conf_path, prefix,
         lambda database: click.echo(json.dumps(database.migrations.state(), sort_keys=True)))


@migrations.command()
@_common
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def reset(conf_path: str | None, prefix: str | None, yes: bool) -> None:
    """Drop every table of the datastore."""
    if not yes and not click.confirm("Are you sure? This operation is irreversible."):
        click.echo("Canceled")
        return

    config = load_config(conf_path, prefix)
    if pidfile.supervisor_running(config["prefix"]):
        raise click.ClickException(
            f"the node in {config['prefix']} is running on this datastore; "
            "stop it first ('kongpy stop')")
    with open_datastore(config) as database:
        database.migrations.reset()
    click.echo("Database successfully reset")
