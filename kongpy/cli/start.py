"""`kongpy start`: render the prefix, start the supervisor, wait until it serves."""
from __future__ import annotations

import click

from kongpy.cli import _node
from kongpy.cli._common import conf_option, load_config, prefix_option, verbosity
from kongpy.cli.migrations import require_up_to_date
from kongpy.conf import Config
from kongpy.render import writer
from kongpy import paths
from kongpy.supervisor import pidfile


def start_node(config: Config, timeout: float) -> None:
    root = config["prefix"]
    if pidfile.supervisor_running(root):
        raise click.ClickException(f"kongpy is already running in {root}")
    _node.check_ports(config)
    require_up_to_date(config)
    writer.prepare(config)
    layout = paths.prefix(root)
    layout.env_file.write_text(config.dump())
    layout.env_file.chmod(0o600)
    pid = _node.spawn_supervisor(config)
    _node.wait_ready(config, pid, timeout)


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
