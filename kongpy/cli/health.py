"""`kongpy health`: are the node's processes running?

The messages and their order are Kong's (`no such prefix`, `... is not
running at`, `some services are not running at`, `... is healthy at`):
monitoring scripts match them."""
from __future__ import annotations

import click

from kongpy import conf, guiconf, paths
from kongpy.cli import _node
from kongpy.cli._common import (conf_option, existing_prefix, prefix_option, resolve_prefix,
                                verbosity)
from kongpy.supervisor import pidfile


def _running_config(root: str) -> conf.Config | None:
    """The configuration the node was started with (kept in its prefix)."""
    try:
        return conf.load(str(paths.prefix(root).env_file), env={})
    except conf.ConfigError:
        return None


@click.command()
@conf_option
@prefix_option
@verbosity
def health(conf_path: str | None, prefix: str | None) -> None:
    """Show the health of the node's processes."""
    root = existing_prefix(resolve_prefix(prefix, conf_path))
    if pidfile.supervisor_running(root) is None:
        raise click.ClickException(f"kongpy is not running at {root}")
    running = _running_config(root)
    admin_expected = running is None or bool(running["admin_listen"])
    gui_expected = running is not None and guiconf.served(running)
    names = ["supervisor", "nginx"] + (["admin"] if admin_expected else []) \
        + (["gui"] if gui_expected else [])
    healthy = True
    for name in names:
        up = pidfile.running(root, name) is not None
        healthy = healthy and up
        click.echo(f"{name:.<12}{'running' if up else 'not running'}")
    click.echo("")
    if not healthy:
        raise click.ClickException(f"some services are not running at {root}")
    click.echo(f"kongpy is healthy at {root}")
    if running is not None:
        click.echo(_node.listeners(running))
