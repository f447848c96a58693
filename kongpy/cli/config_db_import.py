"""`kongpy config db_import FILE`: upsert a declarative configuration into the datastore."""
from __future__ import annotations

import logging

import click

from kongpy import declarative
from kongpy.cli._common import conf_option, error_message, prefix_option, verbosity
from kongpy.cli._declarative import CommandError, datastore, history_size, read_file
from kongpy.cli.config_parse import failure
from kongpy.declarative import dbio, history
from kongpy.errors import KongpyError

log = logging.getLogger(__name__)


@click.command("db_import")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@conf_option
@prefix_option
@verbosity
def db_import(path: str | None, conf_path: str | None, prefix: str | None) -> None:
    """Import a declarative configuration file into the datastore (upserts, never deletes)."""
    text = read_file(path)
    with datastore(conf_path, prefix, "db_import") as db:
        try:
            config = declarative.parse(text, db, path)
        except declarative.DeclarativeError as exc:
            raise CommandError("Failed parsing:\n" + failure(exc)) from None
        click.echo("parse successful, beginning import")
        try:
            dbio.load_into_db(db, config)
        except KongpyError as exc:
            raise CommandError("Failed importing:\n" + error_message(exc)) from None
        try:
            history.record(db, history.CLI_ORIGIN, history_size(conf_path, prefix))
        except KongpyError as exc:  # the import is committed: only warn
            log.warning("the configuration history was not recorded: %s", error_message(exc))
    click.echo("import successful")
