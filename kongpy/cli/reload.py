"""`kongpy reload`: validate a new conf, then have the supervisor apply it."""
from __future__ import annotations

import os
import signal

import click

from kongpy import conf, paths
from kongpy.cli._common import conf_option, load_config, prefix_option, verbosity
from kongpy.render import writer
from kongpy.supervisor import pidfile


def _new_config(conf_path: str | None, prefix: str | None) -> conf.Config:
    if conf_path or conf.find_conf_file(None) or not prefix:
        return load_config(conf_path, prefix)
    # No conf file anywhere: keep what the node runs with, plus the environment.
    saved = paths.prefix(prefix).env_file
    if saved.is_file():
        return load_config(str(saved), prefix)
    return load_config(None, prefix)


@click.command()
@conf_option
@prefix_option
@verbosity
def reload(conf_path: str | None, prefix: str | None) -> None:
    """Reload the configuration of a running node; nginx reloads only if needed."""
    config = _new_config(conf_path, prefix)
    root = config["prefix"]
    pid = pidfile.supervisor_running(root)
    if pid is None:
        raise click.ClickException(f"kongpy is not running at {root}")
    writer.prepare(config, swap=False)
    layout = paths.prefix(root)
    tmp = layout.root / f".kongpy_env.{os.getpid()}"
    tmp.write_text(config.dump())
    tmp.chmod(0o600)
    os.replace(tmp, layout.env_file)
    os.kill(pid, signal.SIGHUP)
    click.echo("kongpy reloaded")
