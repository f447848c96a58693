"""Stored rows versus entity output: composite unique keys and ttl expiry.

A stored row is the validated entity plus bookkeeping the output never shows:
``cache_key`` (one unique column standing for Kong's composite unique keys)
and ``expire_at`` (absolute expiry of a ttl row, epoch seconds). Pure helpers.
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

from kongpy.db.entities import CACHE_KEY
from kongpy.schemas.base import EntitySchema

EXPIRE_AT = "expire_at"


def _key_part(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def cache_key(schema: type[EntitySchema], data: Mapping[str, Any]) -> str:
    return json.dumps([_key_part(data.get(n)) for n in schema.cache_key],
                      separators=(",", ":"))


def cache_key_fields(schema: type[EntitySchema], data: Mapping[str, Any]) -> dict:
    """The fields Kong echoes in a composite unique violation."""
    return {n: data.get(n) for n in schema.cache_key_report or schema.cache_key}


def to_stored(schema: type[EntitySchema], data: Mapping[str, Any], now: float) -> dict:
    row = dict(data)
    if schema.cache_key:
        row[CACHE_KEY] = cache_key(schema, data)
    if schema.uses_ttl:
        ttl = row.pop("ttl", None)
        if ttl:
            row[EXPIRE_AT] = now + int(ttl)
    return row


def expired(row: Mapping[str, Any], now: float) -> bool:
    expire_at = row.get(EXPIRE_AT)
    return expire_at is not None and expire_at <= now


def to_output(schema: type[EntitySchema], row: Mapping[str, Any] | None,
              now: float) -> dict | None:
    """The entity as the Admin API shows it; None when the row has expired."""
    if not row:
        return None
    if schema.uses_ttl:
        if expired(row, now):
            return None
        expire_at = row.get(EXPIRE_AT)
        row = dict(row)
        row["ttl"] = max(1, math.ceil(expire_at - now)) if expire_at is not None else None
    return schema.to_output(row)
