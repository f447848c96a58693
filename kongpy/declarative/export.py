"""``kongpy config db_export``: a datastore as a declarative configuration.

As Kong exports: ``_format_version: "3.0"``, ``_transform: false`` (values
are already in their stored form), one flat list per table in dependency
order, foreign keys as id strings, unset fields as null. Rows with a ttl
carry the seconds they have left as ``ttl``; expired rows are left out.
Keys are sorted within each entity and rows ordered by id, so exporting
the same rows twice gives the same text.
"""
from __future__ import annotations

from typing import Any

import yaml

from kongpy.declarative.catalog import Catalog

# Tables Kong's export skips (``db_export = false``) that kongpy may hold.
SKIPPED = frozenset({"tags", "clustering_data_planes", "oauth2_authorization_codes",
                     "sessions", "ratelimiting_metrics"})


def export(db: Any) -> dict:
    out: dict[str, Any] = {"_format_version": "3.0", "_transform": False}
    catalog = Catalog.of(db)
    for table in catalog.names():
        if table in SKIPPED:
            continue
        fks = list(catalog.schemas[table].foreign_fields())
        rows = [_row(row, fks) for row in db.daos[table].each()]
        if rows:
            out[table] = sorted(rows, key=lambda r: r["id"])
    return out


def _row(row: dict, fks: list[str]) -> dict:
    out = dict(row)
    for name in fks:
        if isinstance(out.get(name), dict):
            out[name] = out[name].get("id")
    return _sorted(out)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> Any:
    # Multi-line values (PEM certificates and keys) as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1000)
