"""The entity tables a declarative configuration may hold, and their relations.

Built from a datastore handle's DAOs (core entities plus the enabled
plugins' own), so a document is checked against the same schemas the Admin
API validates with. Tables come in dependency order (parents first), which
is also the order of an import and of an export.
"""
from __future__ import annotations

from typing import Any, Mapping

from kongpy.schemas.base import EntitySchema


# Kong's cache key of a core entity whose kongpy schema keeps it elsewhere
# (vaults: ``prefix`` is a plain unique column here); it feeds derived ids.
_KONG_CACHE_KEYS = {"vaults": ("prefix",)}


class Catalog:
    def __init__(self, schemas: Mapping[str, type[EntitySchema]]) -> None:
        self.schemas = _topological(schemas)
        # parent table -> child table -> the child's foreign key field
        self.children: dict[str, dict[str, str]] = {name: {} for name in self.schemas}
        for name, schema in self.schemas.items():
            for field, fdef in schema.foreign_fields().items():
                if fdef.reference in self.children:
                    self.children[fdef.reference].setdefault(name, field)

    @classmethod
    def of(cls, db: Any) -> "Catalog":
        return cls({name: dao.schema for name, dao in db.daos.items()})

    def names(self) -> list[str]:
        return list(self.schemas)

    def field_auto(self, table: str, field: str) -> bool:
        """Kong's ``auto`` attribute (a value generated when none is given)."""
        schema = self.schemas[table]
        fdef = schema.field_map().get(field)
        if fdef is not None and getattr(fdef, "auto", False):
            return True
        for item in (getattr(schema, "lua_schema", None) or {}).get("fields") or []:
            if field in item:
                return bool(item[field].get("auto"))
        return False

    def field_required(self, table: str, field: str) -> bool:
        fdef = self.schemas[table].field_map().get(field)
        return bool(fdef is not None and getattr(fdef, "kong_required", False))

    def cache_key(self, table: str) -> tuple[str, ...]:
        schema = self.schemas[table]
        return tuple(schema.cache_key or getattr(schema, "kong_cache_key", ())
                     or _KONG_CACHE_KEYS.get(table, ()))


def _topological(schemas: Mapping[str, type[EntitySchema]]) -> dict[str, type[EntitySchema]]:
    """Parents before children; ties keep the given order."""
    out: dict[str, type[EntitySchema]] = {}
    pending = dict(schemas)
    while pending:
        for name, schema in list(pending.items()):
            refs = {f.reference for f in schema.foreign_fields().values()}
            if all(r in out or r not in pending or r == name for r in refs):
                out[name] = schema
                del pending[name]
                break
        else:  # a cycle: keep the given order for the rest
            out.update(pending)
            pending = {}
    return out
