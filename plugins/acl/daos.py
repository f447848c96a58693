"""acl: the ``acls`` entity (consumer groups) and its Admin API paths."""
from __future__ import annotations

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema


class AclSchema(EntitySchema):
    entity_name = "acls"
    # ``/consumers/{c}/acls/{group}``: a group is unique within its consumer only.
    endpoint_key = "group"
    cache_key = ("consumer", "group")

    id = t.uuid()
    created_at = t.auto_timestamp_s()
    consumer = t.foreign("consumers", on_delete="cascade", required=True)
    group = f.String(required=True)
    tags = t.tags()


ENTITIES = [AclSchema]
ENDPOINTS = [{"entity": "acls", "path": "acls", "nested": "acls"}]
