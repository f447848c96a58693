"""`kongpy config ...`: the node configuration and declarative configuration files.

Each declarative command lives in a module of its own (config_*.py)."""
from __future__ import annotations

import uuid

import click

from kongpy import paths
from kongpy.cli._common import Group, conf_option, load_config, prefix_option, verbosity
from kongpy.cli.config_db_export import db_export
from kongpy.cli.config_db_import import db_import
from kongpy.cli.config_diff import diff
from kongpy.cli.config_history import history
from kongpy.cli.config_init import init
from kongpy.cli.config_migrate import migrate
from kongpy.cli.config_parse import parse
from kongpy.cli.config_rollback import rollback
from kongpy.render import writer


@click.group(cls=Group)
def config() -> None:
    """Node configuration and declarative configuration utilities."""


@config.command()
@conf_option
@prefix_option
@verbosity
def render(conf_path: str | None, prefix: str | None) -> None:
    """Print the nginx.conf this configuration would use."""
    cfg = load_config(conf_path, prefix)
    id_file = paths.prefix(cfg["prefix"]).node_id_file
    # Printing must not create a prefix: reuse the node id only if one exists.
    node_id = paths.node_id(cfg["prefix"]) if id_file.is_file() else str(uuid.uuid4())
    click.echo(writer.render_nginx_conf(cfg, node_id), nl=False)


for _command in (init, parse, db_import, db_export, migrate, history, diff, rollback):
    config.add_command(_command)
