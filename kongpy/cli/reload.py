"""`kongpy reload`: validate a new conf, then have the supervisor apply it.

As with Kong, nothing of the running node changes unless every check passes
(plugins in use are enabled, `nginx -t` accepts the new nginx.conf); then
nginx always reloads, so new Lua code and new custom plugins take effect, and
the configuration is pushed to the new workers again.
"""
from __future__ import annotations

import os
import signal

import click

from kongpy import conf, paths
from kongpy.cli import _declarative, _node, _preflight
from kongpy.cli._common import (conf_option, existing_prefix, load_config, prefix_option,
                                verbosity)
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
    """Reload the configuration and the code of a running node."""
    config = _new_config(conf_path, prefix)
    root = existing_prefix(config["prefix"])
    pid = pidfile.supervisor_running(root)
    if pid is None:
        raise click.ClickException(f"kongpy is not running at {root}")
    _preflight.check_reload(config)
    writer.prepare(config, swap=False)
    _declarative.load_declarative(config)
    _node.save_env(config)
    os.kill(pid, signal.SIGHUP)
    click.echo("kongpy reloaded")
