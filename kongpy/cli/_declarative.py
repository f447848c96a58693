"""What the ``kongpy config`` declarative commands share: the datastore and the file."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from kongpy.cli._common import load_config
from kongpy.cli.migrations import NEEDS_BOOTSTRAP
from kongpy.errors import KongpyError

NO_FILE = "expected a declarative configuration file; see `kongpy config --help`"


class CommandError(KongpyError):
    """A failure the command reports as ``Error: <message>``."""


@contextmanager
def datastore(conf_path: str | None, prefix: str | None, command: str) -> Iterator[Any]:
    """The node's datastore with its enabled plugins, bootstrapped."""
    from kongpy import db as dblib  # only these commands need the datastore

    config = load_config(conf_path, prefix)
    if str(config.get("database")).lower() == "off" and command != "parse":
        raise CommandError(f"'kongpy config {command}' only works with a database.")
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
    return history.size_of(load_config(conf_path, prefix))


def read_file(path: str | None) -> str:
    if not path:
        raise CommandError(NO_FILE)
    with open(path, encoding="utf-8") as fh:
        return fh.read()
