"""What the declarative commands share: the datastore and the file, and the
DB-less node's document loaded by ``kongpy start`` and ``kongpy reload``."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import click

from kongpy import dbless, paths
from kongpy.cli._common import load_config
from kongpy.conf import Config
from kongpy.cli.migrations import NEEDS_BOOTSTRAP
from kongpy.declarative import DeclarativeError
from kongpy.errors import KongpyError

log = logging.getLogger(__name__)

DBLESS_HINT = ("\nWhen using database=off, reload your declarative configuration\n"
               "using the /config endpoint.")
NO_FILE = "expected a declarative configuration file; see `kongpy config --help`"


class CommandError(KongpyError):
    """A failure the command reports as ``Error: <message>``."""


def node_config(conf_path: str | None, prefix: str | None) -> Config:
    """The configuration the node of the prefix was started with, when it has
    one (as Kong's `kong config` reads `<prefix>/.kong_env`), so `-p PREFIX`
    alone reaches the node's datastore; else the given or default conf."""
    config = load_config(conf_path, prefix)
    saved = paths.prefix(config["prefix"]).env_file
    if saved.is_file():
        return load_config(str(saved), prefix)
    return config


@contextmanager
def datastore(conf_path: str | None, prefix: str | None, command: str) -> Iterator[Any]:
    """The node's datastore with its enabled plugins, bootstrapped."""
    from kongpy import db as dblib  # only these commands need the datastore

    config = node_config(conf_path, prefix)
    if str(config.get("database")).lower() == "off" and command != "parse":
        raise CommandError(f"'kongpy config {command}' only works with a database."
                           + (DBLESS_HINT if command == "db_import" else ""))
    handle = dblib.open(config)
    try:
        if command != "parse" and not handle.migrations.state()["bootstrapped"]:
            raise CommandError(NEEDS_BOOTSTRAP)
        yield handle
    finally:
        handle.close()


def history_size(conf_path: str | None, prefix: str | None) -> int:
    """The node's ``config_history_size`` (kongpy/declarative/history.py)."""
    from kongpy.declarative import history
    return history.size_of(node_config(conf_path, prefix))


def read_file(path: str | None) -> str:
    if not path:
        raise CommandError(NO_FILE)
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def load_declarative(config: Mapping[str, Any]) -> None:
    """A DB-less node loads ``declarative_config(_string)`` at every start and
    reload (Kong reads it again when its master re-runs init)."""
    if not dbless.enabled(config):
        return
    given = dbless.startup_document(config)
    if given is None:
        return
    try:
        dbless.load_text(config, *given)
    except DeclarativeError as exc:
        raise click.ClickException(f"error parsing declarative config file "
                                   f"{given[1] or '(declarative_config_string)'}:\n"
                                   f"{exc.message}") from None
    _record_history(config)


def _record_history(config: Mapping[str, Any]) -> None:
    """The configuration loaded at start is a version of the history (none
    when it is the one already recorded last)."""
    from kongpy import db as dblib
    from kongpy.declarative import history

    handle = dblib.open(config)
    try:
        history.record(handle, history.CLI_ORIGIN, history.size_of(config))
    except Exception as exc:  # noqa: BLE001 - the node serves it anyway
        log.warning("the configuration history was not recorded: %s", exc)
    finally:
        handle.close()
