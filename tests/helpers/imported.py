"""Rows stored as an import from Kong stores them: values already in their
stored form (a basic-auth password is Kong's SHA-1 hex), so no on_write hook
runs. Validated and evented like any other write."""
from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from kongpy.db import rows
from kongpy.db.dao import EVENT_CHANNEL


def kong_sha1(password: str, consumer_id: str) -> str:
    """Kong's basic-auth password format."""
    return hashlib.sha1((password + consumer_id).encode()).hexdigest()


def insert_stored(db: Any, entity: str, row: dict[str, Any]) -> dict:
    dao = db.daos[entity]
    data = dao.schema.validate({"id": str(uuid.uuid4()), **row})
    data["created_at"] = data.get("created_at") or int(time.time())
    with db.strategy.transaction():
        db.strategy.insert(dao.table, rows.to_stored(dao.schema, data, time.time()))
        db.append_event(EVENT_CHANNEL, f"{entity}:create:{data['id']}")
    return dao.select(data["id"])


def import_basic_auth(db: Any, consumer_id: str, username: str, password: str) -> dict:
    """A basic-auth credential as Kong stored it."""
    return insert_stored(db, "basicauth_credentials", {
        "consumer": {"id": consumer_id}, "username": username,
        "password": kong_sha1(password, consumer_id)})
