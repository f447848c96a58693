"""Ids of entities declared without one, derived as Kong derives them.

id = UUIDv5(UUIDv5(NAMESPACE, <table>), key), where the key is the entity's
cache key (``<table>:<ws>:<field>:...``; the parent's id for the implied
foreign key of a nested entity, ``""`` for an absent optional field) or its
endpoint key value; with neither (or an ``auto`` cache-key field, or a
missing required one) the id is random. ``<ws>`` is ``*``: kongpy has the
default workspace only and declarative entries carry no ``ws_id``. The same
document therefore gives the same ids on every load.
"""
from __future__ import annotations

import uuid
from typing import Any, Mapping

from kongpy.declarative.catalog import Catalog
from kongpy.schemas.typedefs import is_uuid

NAMESPACE = uuid.UUID("fd02801f-0957-4a15-a55a-c8d9606f30b5")
_WS = "*"


def derive(catalog: Catalog, table: str, item: Mapping[str, Any],
           parent_id: str | None = None, child_key: str | None = None) -> tuple[str, bool]:
    """(the id, whether it is random)."""
    key = _key(catalog, table, item, parent_id, child_key)
    if key is None:
        return str(uuid.uuid4()), True
    return str(uuid.uuid5(uuid.uuid5(NAMESPACE, table), key)), False


def _key(catalog: Catalog, table: str, item: Mapping[str, Any],
         parent_id: str | None, child_key: str | None) -> str | None:
    cache_key = catalog.cache_key(table)
    if cache_key:
        return _cache_key(catalog, table, item, cache_key, parent_id, child_key)
    schema = catalog.schemas[table]
    ekey = schema.endpoint_key
    if not ekey or item.get(ekey) is None:
        return None
    key = str(item[ekey])
    if ekey in schema.unique_fields:
        return key
    for field, fdef in schema.foreign_fields().items():
        if fdef.on_delete == "cascade":
            ref = parent_id if parent_id is not None else _reference(item.get(field))
            key += f":{ref}"
    return f"{key}:{_WS}"


def _cache_key(catalog: Catalog, table: str, item: Mapping[str, Any],
               fields: tuple[str, ...], parent_id: str | None,
               child_key: str | None) -> str | None:
    parts = [table, _WS]
    for field in fields:
        value = item.get(field)
        if catalog.field_auto(table, field):
            return None
        if isinstance(value, str) or _reference(value) is not value:
            parts.append(_reference(value))
        elif value is None:
            if field == child_key and parent_id is not None:
                parts.append(parent_id)
            elif catalog.field_required(table, field):
                return None
            else:
                parts.append("")
        # Other types add nothing, as in Kong (a bad type fails validation anyway).
    return ":".join(parts)


def _reference(value: Any) -> Any:
    """A foreign key's part of a key: as given, or the id of Kong's record
    form (``{"id": ...}``)."""
    rid = value.get("id") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(rid, str) and is_uuid(rid):
        return rid
    return value
