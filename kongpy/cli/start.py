"""`kongpy start`: render the prefix, start the supervisor, wait until it serves.

Unlike Kong, a node whose datastore is unreachable still starts when its
prefix holds the snapshot it last served: nginx loads it at init and the sync
loop catches up once the datastore answers. Without a snapshot there is
nothing safe to serve, and start fails naming the datastore.
"""
from __future__ import annotations

import click

from kongpy.cli import _node
from kongpy.cli._common import conf_option, load_config, prefix_option, verbosity
from kongpy.cli.migrations import require_up_to_date
from kongpy.conf import Config
from kongpy.errors import DatastoreUnavailable
from kongpy.render import writer
from kongpy import paths
from kongpy.supervisor import pidfile


def start_node(config: Config, timeout: float) -> None:
    root = config["prefix"]
    if pidfile.supervisor_running(root):
        raise click.ClickException(f"kongpy is already running in {root}")
    _node.check_ports(config)
    layout = paths.prefix(root)
    _check_datastore(config, layout)
    writer.prepare(config)
    layout.env_file.write_text(config.dump())
    layout.env_file.chmod(0o600)
    pid = _node.spawn_supervisor(config)
    _node.wait_ready(config, pid, timeout)


def _check_datastore(config: Config, layout: paths.Prefix) -> None:
    try:
        require_up_to_date(config)
    except DatastoreUnavailable as exc:
        if not layout.snapshot_file.is_file():
            raise click.ClickException(exc.message) from None
        click.echo(f"Warning: {exc.message}; serving the last configuration "
                   f"({layout.snapshot_file}) until it answers", err=True)


@click.command()
@conf_option
@prefix_option
@click.option("--timeout", type=float, default=60, show_default=True,
              help="Seconds to wait for the node to answer.")
@verbosity
def start(conf_path: str | None, prefix: str | None, timeout: float) -> None:
    """Start kongpy (nginx, the Admin API and the sync loop)."""
    start_node(load_config(conf_path, prefix), timeout)
    click.echo("kongpy started")
