"""From entity schemas to what strategies store (pure, no datastore access)."""
from __future__ import annotations

from kongpy.db.strategies.base import TableDef
from kongpy.schemas.base import EntitySchema


def table_for(schema: type[EntitySchema]) -> TableDef:
    return TableDef(
        name=schema.entity_name,
        primary_key=schema.primary_key[0],
        unique=tuple(schema.unique_fields),
        foreign={name: f"{name}_id" for name in schema.foreign_fields()},
    )
