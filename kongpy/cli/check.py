"""`kongpy check [<conf>]`: validate a configuration file (by default the one
every command reads: /etc/kongpy/kongpy.conf, else /etc/kongpy.conf; Kong's
`check` likewise defaults to its /etc/kong/kong.conf).

Beyond the file itself it warns about what the node would accept but not
serve: plugin API endpoints with no server, and routes of the datastore whose
protocols no listener of this configuration takes (a `tcp` route while
`stream_listen` is off). A datastore that is not there (yet) is not an error.
"""
from __future__ import annotations

import logging

import click

from kongpy import conf, dbless, plugins, unserved
from kongpy.cli._common import load_config, verbosity
from kongpy.cli.migrations import empty_sqlite, open_datastore
from kongpy.conf import Config
from kongpy.errors import ConfigError, DatastoreUnavailable
from kongpy.render import stream

log = logging.getLogger(__name__)


def _route_warnings(config: Config) -> list[str]:
    if config["database"] == "sqlite" and empty_sqlite(config["sqlite_path"]):
        return []
    if dbless.enabled(config) and empty_sqlite(dbless.store_path(config)):
        return []
    try:
        with open_datastore(config) as database:
            if not database.migrations.state()["bootstrapped"]:
                return []
            return unserved.warnings(config, database.routes.each())
    except DatastoreUnavailable as exc:
        log.info("routes not checked: %s", exc.message)
        return []


@click.command()
@click.argument("conf_path", metavar="[CONF]", required=False)
@verbosity
def check(conf_path: str | None) -> None:
    """Check the validity of a configuration file (and of its plugins);
    CONF defaults to /etc/kongpy/kongpy.conf (else /etc/kongpy.conf)."""
    conf_path = conf.find_conf_file(conf_path) or conf.DEFAULT_PATHS[0]
    config = load_config(conf_path)
    for line in plugins.unserved_api(plugins.load(config)):
        click.echo(f"Warning: {line}", err=True)
    for line in _route_warnings(config):
        click.echo(f"Warning: {line}", err=True)
    try:
        stream.check_module(config)
    except ConfigError as exc:  # start would refuse it: this machine lacks the module
        click.echo(f"Warning: {exc}", err=True)
    click.echo(f"configuration at {conf_path} is valid")
