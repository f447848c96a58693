"""`kongpy stop` and `kongpy quit`: graceful shutdown, in-flight requests finish."""
from __future__ import annotations

import signal
import time

import click

from kongpy.cli import _node
from kongpy.cli._common import (conf_option, existing_prefix, prefix_option, resolve_prefix,
                                verbosity)


def _stop(prefix: str | None, conf_path: str | None, sig: int, timeout: float) -> str:
    root = existing_prefix(resolve_prefix(prefix, conf_path))
    if not _node.stop(root, sig, timeout):
        raise click.ClickException(f"kongpy is not running at {root}")
    return root


@click.command()
@conf_option
@prefix_option
@click.option("--timeout", type=float, default=10, show_default=True,
              help="Seconds in-flight requests get before the node is forced down.")
@verbosity
def stop(conf_path: str | None, prefix: str | None, timeout: float) -> None:
    """Stop kongpy gracefully."""
    _stop(prefix, conf_path, signal.SIGTERM, timeout)
    click.echo("kongpy stopped")


@click.command()
@conf_option
@prefix_option
@click.option("-t", "--timeout", type=float, default=10, show_default=True,
              help="Seconds before a forced shutdown.")
@click.option("-w", "--wait", type=float, default=0, show_default=True,
              help="Seconds to wait before starting the shutdown.")
@verbosity
def quit(conf_path: str | None, prefix: str | None, timeout: float, wait: float) -> None:
    """Stop kongpy gracefully, forcing it after a timeout."""
    existing_prefix(resolve_prefix(prefix, conf_path))
    if wait > 0:
        time.sleep(wait)
    _stop(prefix, conf_path, signal.SIGQUIT, timeout)
    click.echo("kongpy stopped (gracefully)")
