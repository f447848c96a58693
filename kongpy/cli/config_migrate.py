"""`kongpy config migrate FILE [-o OUT] [--apply]`: a Kong 0.x configuration as a 3.0 file."""
from __future__ import annotations

import json
import os

import click

from kongpy import declarative
from kongpy.cli._common import conf_option, error_message, prefix_option, verbosity
from kongpy.cli._declarative import CommandError, datastore, read_file
from kongpy.cli.config_parse import failure
from kongpy.declarative import dbio, migrate_0x
from kongpy.declarative.export import to_yaml
from kongpy.declarative.load import ParseError, parse_text
from kongpy.errors import KongpyError


@click.command("migrate")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the 3.0 file here (.json: JSON, else YAML; - or none: stdout).")
@click.option("--apply", is_flag=True, help="Import the result into the datastore.")
@conf_option
@prefix_option
@verbosity
def migrate(path: str | None, output: str | None, apply: bool, conf_path: str | None,
            prefix: str | None) -> None:
    """Convert a Kong 0.x configuration (Admin API /apis, /consumers, /plugins and
    credential lists) to a _format_version 3.0 declarative file; what cannot be
    carried over is listed on stderr."""
    if not path:
        raise CommandError("expected a Kong 0.x configuration file; "
                           "see `kongpy config migrate --help`")
    text = read_file(path)
    if output and output != "-" and os.path.exists(output):
        raise CommandError(f"{output} already exists. Will not overwrite it.")
    try:
        source = parse_text(text, path)
    except ParseError as exc:
        raise CommandError(f"Failed reading {path}: {str(exc).split(': ', 1)[-1]}") from None
    with datastore(conf_path, prefix, "migrate" if apply else "parse") as db:
        try:
            result = migrate_0x.migrate(source, migrate_0x.plugin_fields(db))
        except migrate_0x.MigrationError as exc:
            raise CommandError(f"Failed migrating: {exc}") from None
        for line in result.unmapped:
            click.echo(f"not migrated: {line}", err=True)
        as_json = bool(output) and output.endswith(".json")
        rendered = (json.dumps(result.doc, indent=2) + "\n") if as_json else to_yaml(result.doc)
        try:
            config = declarative.parse(rendered, db, "migrated.json" if as_json else "migrated.yml")
        except declarative.DeclarativeError as exc:
            raise CommandError("the migrated configuration does not parse:\n"
                               + failure(exc)) from None
        if output and output != "-":
            with open(output, "x", encoding="utf-8") as fh:
                fh.write(rendered)
        elif not apply or output == "-":
            click.echo(rendered, nl=False)
        if apply:
            try:
                dbio.load_into_db(db, config)
            except KongpyError as exc:
                raise CommandError("Failed importing:\n" + error_message(exc)) from None
            click.echo("import successful", err=output == "-")
