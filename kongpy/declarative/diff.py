"""What changed between two exported configurations (kongpy/declarative/export.py).

Entities are matched by table and id. The shape (docs/history.md):

    {"from": 3, "to": 5,
     "summary": {"services": {"created": 1, "updated": 0, "deleted": 0}, ...},
     "changes": {"services": {
         "added":   [{"id": ..., "name": ..., "entity": {...}}],
         "removed": [{"id": ..., "name": ..., "entity": {...}}],
         "changed": [{"id": ..., "name": ..., "fields": {"paths": {"old": [...],
                                                                   "new": [...]}}}]}}}

Only tables with a change appear; lists are ordered by id, fields by name.
A field present on one side only shows ``null`` on the other. A row whose
only difference is ``updated_at`` is unchanged.
"""
from __future__ import annotations

from typing import Any


# A row written again with the same content (an import run twice, a PATCH
# with the values it had) only moves its timestamp: that is no change.
_STAMPS = {"updated_at"}


def _tables(doc: dict | None) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for table, rows in (doc or {}).items():
        if table.startswith("_") or not isinstance(rows, list):
            continue
        out[table] = {row["id"]: row for row in rows if isinstance(row, dict) and "id" in row}
    return out


def _label(row: dict) -> dict:
    out = {"id": row["id"]}
    if row.get("name") is not None:
        out["name"] = row["name"]
    return out


def _fields(old: dict, new: dict) -> dict[str, dict]:
    return {name: {"old": old.get(name), "new": new.get(name)}
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)}


def changes(old_doc: dict | None, new_doc: dict | None) -> dict[str, dict[str, list]]:
    """Per table: ``added``, ``removed`` and ``changed`` entities (tables without any
    change left out)."""
    old, new = _tables(old_doc), _tables(new_doc)
    out: dict[str, dict[str, list]] = {}
    for table in list(dict.fromkeys([*new, *old])):
        before, after = old.get(table, {}), new.get(table, {})
        added = [{**_label(after[i]), "entity": after[i]} for i in sorted(set(after) - set(before))]
        removed = [{**_label(before[i]), "entity": before[i]}
                   for i in sorted(set(before) - set(after))]
        changed = []
        for i in sorted(set(before) & set(after)):
            fields = _fields(before[i], after[i])
            if set(fields) - _STAMPS:
                changed.append({**_label(after[i]), "fields": fields})
        if added or removed or changed:
            out[table] = {"added": added, "removed": removed, "changed": changed}
    return out


def summary(found: dict[str, dict[str, list]]) -> dict[str, dict[str, int]]:
    """Entity counts per table: ``created``, ``updated``, ``deleted``."""
    return {table: {"created": len(c["added"]), "updated": len(c["changed"]),
                    "deleted": len(c["removed"])} for table, c in found.items()}


def diff(old_doc: dict | None, new_doc: dict | None, old_version: Any,
         new_version: Any) -> dict:
    found = changes(old_doc, new_doc)
    return {"from": old_version, "to": new_version, "summary": summary(found),
            "changes": found}
