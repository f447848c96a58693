"""`kongpy prepare`: build the prefix so nginx could be started by hand."""
from __future__ import annotations

import click

from kongpy.cli import _node
from kongpy.cli._common import conf_option, load_config, prefix_option, verbosity
from kongpy.render import writer


@click.command()
@conf_option
@prefix_option
@verbosity
def prepare(conf_path: str | None, prefix: str | None) -> None:
    """Prepare the prefix (nginx.conf, settings.json, certificates) without starting."""
    config = load_config(conf_path, prefix)
    writer.prepare(config)
    _node.save_env(config)
