"""What start, restart and reload check before they touch a node or its prefix.

Every plugin configured in the datastore must be enabled on the node (Kong's
``<name> plugin is in use but not enabled``): a node that left one out would
serve its routes without it. A node starts from a snapshot built from the
datastore there and then; the snapshot its prefix keeps is served only while
the datastore is unreachable, and only when it was built for the same plugin
set and the same code.
"""
from __future__ import annotations

import logging
from typing import Any

import click

from kongpy import paths, plugins
from kongpy.cli.migrations import NEEDS_BOOTSTRAP, NEW_AVAILABLE, PENDING, open_datastore
from kongpy.conf import Config
from kongpy.errors import DatastoreUnavailable
from kongpy.sync import model, snapshot

log = logging.getLogger(__name__)


def _check_schema(database: Any) -> None:
    state = database.migrations.state()
    if not state["bootstrapped"]:
        raise click.ClickException(NEEDS_BOOTSTRAP)
    if state["new"]:
        raise click.ClickException(NEW_AVAILABLE)
    if state["pending"]:
        log.warning(PENDING)


def fresh_snapshot(config: Config) -> bytes:
    """Checks the datastore and returns the snapshot built from it.

    Raises DatastoreUnavailable when the datastore does not answer.
    """
    with open_datastore(config) as database:
        _check_schema(database)
        plugins.check_in_use(plugins.in_use(database), config)
        return model.build(database, snapshot.built_for(config))


def _kept_plugin_names(layout: paths.Prefix) -> list[str]:
    _, body = snapshot.read(layout.snapshot_file) or ({}, {})
    rows = body.get("plugins") if isinstance(body.get("plugins"), list) else []
    return [r["name"] for r in rows if isinstance(r, dict) and isinstance(r.get("name"), str)]


def check_kept_snapshot(config: Config, reason: str) -> None:
    """Whether the prefix's snapshot may be served while the datastore is down."""
    layout = paths.prefix(config["prefix"])
    if not layout.snapshot_file.is_file():
        raise click.ClickException(reason)
    header, _ = snapshot.read(layout.snapshot_file) or ({}, {})
    kept = header.get("built_for")
    wanted = snapshot.built_for(config)
    if kept != wanted:
        what = "plugin set" if isinstance(kept, dict) \
            and kept.get("plugins") != wanted["plugins"] else "code"
        raise click.ClickException(
            f"{reason}; the configuration kept in {layout.snapshot_file} was built for "
            f"another {what} and cannot be served until the datastore answers")
    plugins.check_in_use(_kept_plugin_names(layout), config)


def snapshot_to_serve(config: Config) -> bytes | None:
    """The snapshot a starting node serves first: fresh bytes, or None to keep the file."""
    try:
        return fresh_snapshot(config)
    except DatastoreUnavailable as exc:
        check_kept_snapshot(config, exc.message)
        click.echo(f"Warning: {exc.message}; serving the last configuration "
                   f"({paths.prefix(config['prefix']).snapshot_file}) until it answers",
                   err=True)
        return None


def check_reload(config: Config) -> None:
    """The plugin check of reload: the datastore, else the instances the node serves."""
    try:
        with open_datastore(config) as database:
            names = plugins.in_use(database)
    except DatastoreUnavailable as exc:
        click.echo(f"Warning: {exc.message}; checking the plugins against the "
                   "configuration the node serves", err=True)
        names = _kept_plugin_names(paths.prefix(config["prefix"]))
    plugins.check_in_use(names, config)
