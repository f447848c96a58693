"""`kongpy config history`: the stored configuration versions, newest first."""
from __future__ import annotations

import time

import click

from kongpy.cli._common import conf_option, prefix_option, verbosity
from kongpy.cli._declarative import datastore
from kongpy.db import history as store


def _summary(summary: dict) -> str:
    parts = [f"{table} +{c['created']} ~{c['updated']} -{c['deleted']}"
             for table, c in (summary or {}).items()]
    return ", ".join(parts) or "no change"


def line(row: dict) -> str:
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["created_at"]))
    text = f"{row['version']}\t{at}\t{row['origin']}\t{_summary(row['summary'])}"
    if row.get("rollback_of") is not None:
        text += f" (rollback to {row['rollback_of']})"
    return text


@click.command("history")
@click.option("-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many versions to show.")
@conf_option
@prefix_option
@verbosity
def history(limit: int, conf_path: str | None, prefix: str | None) -> None:
    """List the stored configuration versions, newest first (version, time, origin, changes)."""
    with datastore(conf_path, prefix, "history") as db:
        rows = store.entries(db.strategy)[:limit]
    for row in rows:
        click.echo(line(row))
