"""`kongpy start`: check, render the prefix, start the supervisor, wait until it serves.

Like Kong, start refuses when a plugin configured in the datastore is not
enabled on the node. Unlike Kong, a node whose datastore is unreachable
still starts when its prefix keeps the snapshot it last served, built for the
same plugin set and code: nginx loads it at init and the sync loop catches up
once the datastore answers. Otherwise there is nothing safe to serve, and
start fails naming the datastore.
"""
from __future__ import annotations

import click

from kongpy import paths, plugins
from kongpy.cli import _node, _preflight
from kongpy.cli._common import (conf_option, load_config, prefix_option,
                                start_timeout_option, verbosity)
from kongpy.conf import Config
from kongpy.render import writer
from kongpy.supervisor import pidfile
from kongpy.sync import snapshot


def start_node(config: Config, timeout: float) -> None:
    root = config["prefix"]
    if pidfile.supervisor_running(root):
        raise click.ClickException(f"kongpy is already running in {root}")
    _node.stop_leftovers(root)
    _node.check_ports(config)
    fresh = _preflight.snapshot_to_serve(config)
    for line in plugins.unserved_api(plugins.load(config)):
        click.echo(f"Warning: {line}", err=True)
    writer.prepare(config)
    layout = paths.prefix(root)
    if fresh is not None:
        snapshot.write(layout.snapshot_file, fresh)
    _node.save_env(config)
    pid = _node.spawn_supervisor(config)
    _node.wait_ready(config, pid, timeout)


@click.command()
@conf_option
@prefix_option
@start_timeout_option
@verbosity
def start(conf_path: str | None, prefix: str | None, timeout: float) -> None:
    """Start kongpy (nginx, the Admin API and the sync loop)."""
    start_node(load_config(conf_path, prefix), timeout)
    click.echo("kongpy started")
