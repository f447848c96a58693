"""`kongpy health`: are the node's processes running?"""
from __future__ import annotations

import click

from kongpy import conf, paths
from kongpy.cli._common import conf_option, prefix_option, resolve_prefix, verbosity
from kongpy.supervisor import pidfile


def _admin_expected(root: str) -> bool:
    try:
        return bool(conf.load(str(paths.prefix(root).env_file), env={})["admin_listen"])
    except conf.ConfigError:
        return True


@click.command()
@conf_option
@prefix_option
@verbosity
def health(conf_path: str | None, prefix: str | None) -> None:
    """Show the health of the node's processes."""
    root = resolve_prefix(prefix, conf_path)
    if pidfile.supervisor_running(root) is None:
        raise click.ClickException(f"kongpy is not running at {root}")
    names = ["supervisor", "nginx"] + (["admin"] if _admin_expected(root) else [])
    healthy = True
    for name in names:
        up = pidfile.running(root, name) is not None
        healthy = healthy and up
        click.echo(f"{name:.<12}{'running' if up else 'not running'}")
    click.echo("")
    if not healthy:
        raise click.ClickException("some services are not running")
    click.echo(f"kongpy is healthy at {root}")
