"""The ``consumers`` entity (Kong 3.9)."""
from __future__ import annotations

from typing import Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error, is_empty, quoted

_ONE_OF = ("custom_id", "username")


class ConsumerSchema(EntitySchema):
    entity_name = "consumers"
    endpoint_key = "username"
    unique_fields = ("username", "custom_id")

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    username = f.String(describe={"unique": True, "indexed": True})
    custom_id = f.String(describe={"unique": True, "indexed": True})
    tags = t.tags()

    describe_checks = [{"at_least_one_of": list(_ONE_OF)}]

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        if any(name in errors for name in _ONE_OF):
            return
        if all(is_empty(data.get(name)) for name in _ONE_OF):
            entity_error(errors, f"at least one of these fields must be non-empty: "
                                 f"{quoted(_ONE_OF)}")
