"""`kongpy migrations ...`: thin commands over `db.migrations`.

Scripts written for `kong migrations` rely on its exit codes and options:
`list` exits 3 (needs bootstrap), 4 (pending migrations) or 5 (new
migrations); `reset` asks only on a terminal and otherwise wants `--yes`;
`-q` silences the output; `--db-timeout` (seconds) replaces `pg_timeout`
and `cassandra_timeout` for the command, so long schema changes are not cut
short by the node's request timeout (since Kong 3.7 only when given).
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
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
CANNOT_RUN = "Cannot run migrations: "
RUN_FINISH = "Run 'kongpy migrations finish' when ready"
RUN_UP = "Run 'kongpy migrations up' to proceed"
CONFIRM = "Are you sure? This operation is irreversible."
NOT_A_TTY = "not a tty: invoke 'reset' non-interactively with the --yes flag"
QUIET = "kongpy.migrations.quiet"
YES = "kongpy.migrations.yes"

# `kong migrations list` exit codes
EXIT_NEEDS_BOOTSTRAP, EXIT_PENDING, EXIT_NEW = 3, 4, 5


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


def _say(text: str) -> None:
    """Output that ``-q`` silences (errors still go to stderr)."""
    if not click.get_current_context().meta.get(QUIET):
        click.echo(text)


def _run(conf_path: str | None, prefix: str | None, db_timeout: float | None,
         action: Callable[[Any], None]) -> None:
    with open_datastore(_config(conf_path, prefix, db_timeout)) as database:
        action(database)


def _config(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> Config:
    return load_config(conf_path, prefix, overrides=db_timeout_overrides(db_timeout))


def db_timeout_overrides(db_timeout: float | None) -> dict[str, int]:
    """Kong's ``--db-timeout`` (seconds): the datastore timeouts, when given."""
    if db_timeout is None:
        return {}
    millis = max(1, int(db_timeout * 1000))
    return {"pg_timeout": millis, "cassandra_timeout": millis}


db_timeout_option = click.option(
    "--db-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
    help="Timeout, in seconds, of every datastore operation "
         "(replaces pg_timeout and cassandra_timeout).")


def _section(title: str, names: list[str]) -> str:
    """Kong's layout: the title, then one line per subsystem (core, then each
    plugin, from ``<plugin>:<step>`` names), right-aligned on the colon."""
    if not names:
        return ""
    groups: dict[str, list[str]] = {}
    for name in names:
        subsystem, _, step = name.rpartition(":")
        groups.setdefault(subsystem or "core", []).append(step)
    width = max(len(g) for g in groups)
    lines = [f"{g.rjust(width)}: {', '.join(steps)}" for g, steps in groups.items()]
    return f"{title}:\n" + "\n".join(lines)


def _names(title: str, names: list[str]) -> None:
    if names:
        _say(_section(title, names))


def _counts(processed: int, pending: int = 0) -> None:
    """Kong's tally: `N migration(s) processed`, then `N executed`, `N pending`."""
    _say(f"{processed} migration{'s' if processed != 1 else ''} processed")
    if processed - pending > 0:
        _say(f"{processed - pending} executed")
    if pending > 0:
        _say(f"{pending} pending")


@click.group(cls=Group)
def migrations() -> None:
    """Manage the datastore schema."""


def _flag(key: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta[key] = True
    return callback


def _common(func: Callable) -> Callable:
    func = db_timeout_option(func)
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False,
                        callback=_flag(QUIET), help="Suppress all output.")(func)
    # every subcommand takes Kong's -y; only reset asks anything
    func = click.option("-y", "--yes", is_flag=True, expose_value=False, callback=_flag(YES),
                        help='Assume "yes" to prompts and run non-interactively.')(func)
    return conf_option(prefix_option(verbosity(func)))


@migrations.command()
@_common
def bootstrap(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """Bootstrap a fresh datastore."""
    def action(database: Any) -> None:
        state = database.migrations.state()
        if state["bootstrapped"]:
            _say("Database already bootstrapped")
            if state["new"]:  # e.g. a bootstrap that failed midway
                _say(NEW_AVAILABLE)
            return
        _say("Bootstrapping database...")
        ran = database.migrations.bootstrap()
        _counts(len(ran))
        _say(UP_TO_DATE)
    _run(conf_path, prefix, db_timeout, action)


@migrations.command()
@_common
def up(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """Run any new migrations."""
    def action(database: Any) -> None:
        state = database.migrations.state()
        if not state["bootstrapped"]:
            raise click.ClickException(CANNOT_RUN + NEEDS_BOOTSTRAP)
        if state["pending"]:  # Kong: the previous upgrade must be finished first
            raise click.ClickException(PENDING)
        ran = database.migrations.up()
        if not ran:
            _say("Database is already up-to-date")
            return
        _names("Migrations processed", ran)
        state = database.migrations.state()
        _counts(len(ran), len(set(ran) & set(state["pending"])))
        _say(PENDING if state["pending"] else UP_TO_DATE)
    _run(conf_path, prefix, db_timeout, action)


@migrations.command()
@_common
def finish(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """Finish pending migrations."""
    def action(database: Any) -> None:
        if not database.migrations.state()["bootstrapped"]:
            raise click.ClickException(CANNOT_RUN + NEEDS_BOOTSTRAP)
        done = database.migrations.finish()
        if not done:
            _say("No pending migrations to finish")
            return
        _names("Migrations finished", done)
        _counts(len(done))
        _say(UP_TO_DATE)
    _run(conf_path, prefix, db_timeout, action)


@migrations.command(name="list")
@_common
def list_(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """List executed, pending and new migrations (exit 3: needs bootstrap,
    4: pending migrations, 5: new migrations)."""
    def action(database: Any) -> None:
        state = database.migrations.state()
        if not state["bootstrapped"]:
            _say(NEEDS_BOOTSTRAP)
            raise click.exceptions.Exit(EXIT_NEEDS_BOOTSTRAP)
        sections = [_section("Executed migrations", state["executed"]),
                    _section("Pending migrations", state["pending"]),
                    _section("New migrations available", state["new"])]
        _say("\n\n".join(text for text in sections if text))
        if state["pending"] and state["new"]:
            click.echo("Warning: the datastore has pending migrations from a previous "
                       "upgrade and new migrations from this one", err=True)
            _say(f"\n{RUN_FINISH} to complete pending migrations")
        elif state["pending"]:
            _say(f"\n{RUN_FINISH}")
        elif state["new"]:
            _say(f"\n{RUN_UP}")
        else:
            _say(f"\n{UP_TO_DATE}")
            return
        raise click.exceptions.Exit(EXIT_PENDING if state["pending"] else EXIT_NEW)
    _run(conf_path, prefix, db_timeout, action)


@migrations.command()
@_common
def status(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """Print the migration state as JSON."""
    _run(conf_path, prefix, db_timeout,
         lambda database: _say(json.dumps(database.migrations.state(), sort_keys=True)))


def _confirmed() -> bool:
    """Kong's prompt: three tries at a yes or a no, on a terminal only."""
    if not sys.stdin.isatty():
        raise click.ClickException(NOT_A_TTY)
    answers = {"y": True, "Y": True, "yes": True, "YES": True,
               "n": False, "N": False, "no": False, "NO": False}
    for _ in range(3):
        click.echo(f"> {CONFIRM} [Y/n] ", nl=False)
        answer = sys.stdin.readline()
        if not answer:
            return False
        if answer.strip() in answers:
            return answers[answer.strip()]
    return False


@migrations.command()
@_common
def reset(conf_path: str | None, prefix: str | None, db_timeout: float | None) -> None:
    """Drop every table of the datastore (asks first, on a terminal, unless --yes)."""
    if not click.get_current_context().meta.get(YES) and not _confirmed():
        _say("cancelled")
        return

    config = _config(conf_path, prefix, db_timeout)
    if pidfile.supervisor_running(config["prefix"]):
        raise click.ClickException(
            f"the node in {config['prefix']} is running on this datastore; "
            "stop it first ('kongpy stop')")
    with open_datastore(config) as database:
        if not database.migrations.state()["bootstrapped"]:
            _say("Database not bootstrapped, nothing to reset")
            raise click.exceptions.Exit(1)
        _say("Resetting database...")
        database.migrations.reset()
    _say("Database successfully reset")
