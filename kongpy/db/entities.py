"""From entity schemas to what strategies store (pure, no datastore access)."""
from __future__ import annotations

from kongpy.db.strategies.base import TableDef
from kongpy.schemas.base import EntitySchema

# One unique column standing for Kong's composite unique key (``cache_key``).
CACHE_KEY = "cache_key"


def table_for(schema: type[EntitySchema]) -> TableDef:
    unique = tuple(schema.unique_fields)
    if getattr(schema, "cache_key", ()):
        unique += (CACHE_KEY,)
    return TableDef(
        name=schema.entity_name,
        primary_key=schema.primary_key[0],
        unique=unique,
        foreign={name: f"{name}_id" for name in schema.foreign_fields()},
        # Kong's ``ttl = true`` flag: stored rows may carry ``expire_at``.
        ttl=bool(getattr(schema, "uses_ttl", False)),
    )
