"""Foreign keys as clients give them, reduced to the parent's primary key.

Kong's ``resolve_foreign`` (kong/db/dao/init.lua), run before validation on
every insert, update and upsert. A foreign key may come as:

- its primary key, ``{"id": "<uuid>"}``;
- the whole parent (go-kong and decK send a route's ``"service"`` as the
  service object): a valid primary key wins and every other field is
  ignored, so the entity stores ``{"id": …}`` only;
- one of the parent's unique fields, ``{"name": "s1"}``: looked up, and an
  unknown value is Kong's ``foreign keys unresolved`` error (code 13). A null
  or invalid unique value is not looked up: validation then reports the
  missing primary key (``service.id: missing primary key``) or the field's own
  error, as Kong does (kongpy/schemas/fields.py ``Foreign``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from marshmallow import ValidationError

from kongpy.errors import ForeignKeysUnresolved, pretty_key
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.typedefs import is_uuid

if TYPE_CHECKING:
    from kongpy.db import DB
    from kongpy.db.dao import DAO


def resolve(db: "DB", schema: type[EntitySchema], entity: Any) -> Any:
    """``entity`` with each foreign key it can resolve as ``{"id": …}``."""
    if not isinstance(entity, Mapping):
        return entity
    out = dict(entity)
    unresolved: dict[str, dict[str, str]] = {}
    for field, fdef in schema.foreign_fields().items():
        ref = out.get(field)
        if not isinstance(ref, Mapping):
            continue
        if has_valid_pk(ref):
            out[field] = {"id": ref["id"]}
            continue
        parent = db.daos.get(fdef.reference)
        if parent is None:
            continue
        found, misses = _by_unique(parent, ref)
        if found is not None:
            out[field] = {"id": found["id"]}
        elif misses:
            unresolved[field] = misses
    if unresolved:
        raise ForeignKeysUnresolved(unresolved)
    return out


def has_valid_pk(ref: Mapping[str, Any]) -> bool:
    pk = ref.get("id")
    return isinstance(pk, str) and is_uuid(pk)


def _by_unique(parent: "DAO", ref: Mapping[str, Any]) -> tuple[dict | None, dict[str, str]]:
    """The parent a unique field of ``ref`` names (fields in declaration order,
    the first found wins), and a message for each value that names none."""
    schema = parent.schema
    misses: dict[str, str] = {}
    for name, fdef in schema.field_map().items():
        if name not in schema.unique_fields:
            continue
        value = ref.get(name)
        if value is None:
            continue
        try:
            fdef.validate_value(value)
        except ValidationError:
            continue
        found = parent.select_by(name, value)
        if found is not None:
            return found, {}
        misses[name] = (f"the foreign key cannot be resolved with '{pretty_key({name: value})}' "
                        f"for an existing '{parent.name}' entity")
    return None, misses
