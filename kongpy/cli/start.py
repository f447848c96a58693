"""`kongpy start`: check, render the prefix, start the supervisor, wait until it serves.

Like Kong, start refuses when a plugin configured in the datastore is not
enabled on the node. Unlike Kong, a node whose datastore is unreachable
still starts when its prefix keeps the snapshot it last served, built for the
same plugin set and code: nginx loads it at init and the sync loop catches up
once the datastore answers. Otherwise there is nothing safe to serve, and
start fails naming the datastore.

A fresh SQLite file (the embedded default) is bootstrapped by start itself;
``--run-migrations`` (Kong's) bootstraps, runs new steps and finishes pending
ones on any datastore first.
"""
from __future__ import annotations

import click

from kongpy import paths, plugins
from kongpy.cli import _declarative, _node, _preflight
from kongpy.cli.migrations import db_timeout_option, db_timeout_overrides, migrate_for_start
from kongpy.cli._common import (conf_option, load_config, prefix_option,
                                start_timeout_option, verbosity)
from kongpy.conf import Config
from kongpy.errors import DatastoreUnavailable
from kongpy.render import context as render_context, stream as render_stream, writer
from kongpy.supervisor import pidfile
from kongpy.sync import snapshot, stream as stream_snapshot


run_migrations_option = click.option(
    "--run-migrations", is_flag=True,
    help="Run the datastore's migrations first (bootstrap, up and finish).")


def start_node(config: Config, timeout: float, run_migrations: bool = False) -> None:
    root = config["prefix"]
    if pidfile.supervisor_running(root):
        raise click.ClickException(f"kongpy is already running in {root}")
    render_stream.check_module(config)
    _node.stop_leftovers(root)
    _node.check_ports(config)
    try:
        ran = migrate_for_start(config, run_migrations)
    except DatastoreUnavailable:
        if run_migrations:
            raise
        ran = []  # the preflight decides whether the kept snapshot may serve
    if ran:
        click.echo(f"{len(ran)} migrations processed")
    _declarative.load_declarative(config)
    fresh = _preflight.snapshot_to_serve(config)
    for line in plugins.unserved_api(plugins.load(config)):
        click.echo(f"Warning: {line}", err=True)
    writer.prepare(config)
    layout = paths.prefix(root)
    if fresh is not None:
        snapshot.write(layout.snapshot_file, fresh)
    _write_stream_snapshot(config, layout, fresh)
    _node.save_env(config)
    pid = _node.spawn_supervisor(config)
    _node.wait_ready(config, pid, timeout)


def _write_stream_snapshot(config: Config, layout: paths.Prefix, fresh: bytes | None) -> None:
    """The stream subset of what the node serves first (of the kept snapshot
    when the datastore is down); a stale one goes when stream_listen is off."""
    path, group = render_context.stream_snapshot_target(config)
    if not config["stream_listen"]:
        path.unlink(missing_ok=True)
        return
    if fresh is None and layout.snapshot_file.is_file():
        fresh = layout.snapshot_file.read_bytes()
    blob = stream_snapshot.from_snapshot(fresh) if fresh is not None else None
    if blob is not None:
        stream_snapshot.write(path, blob, group)


@click.command()
@conf_option
@prefix_option
@start_timeout_option
@run_migrations_option
@db_timeout_option
@verbosity
def start(conf_path: str | None, prefix: str | None, timeout: float,
          run_migrations: bool, db_timeout: float | None) -> None:
    """Start kongpy (nginx, the Admin API and the sync loop)."""
    # As Kong's since 3.7: a given --db-timeout is the node's pg_timeout too.
    config = load_config(conf_path, prefix, overrides=db_timeout_overrides(db_timeout))
    start_node(config, timeout, run_migrations)
    click.echo("kongpy started")
    click.echo(_node.listeners(config))
