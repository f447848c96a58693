"""``/keys`` and ``/key-sets`` (Kong 3.9).

Kong OSS has no routes of its own for them: these are the endpoints its
Admin API generates from the two schemas. ``key_sets`` is served under its
``admin_api_name``, ``key-sets``; a key's ``set`` gives the nested
``/key-sets/{set}/keys`` and ``/keys/{key}/set``. Both are named by ``name``
or by id.
"""
from __future__ import annotations

from flask import Blueprint

from kongpy.admin.resources import register_entity, register_foreign, register_nested


def blueprint() -> Blueprint:
    bp = Blueprint("keys", __name__)
    register_entity(bp, "key_sets", path="key-sets")
    register_entity(bp, "keys")
    register_nested(bp, "key_sets", "keys", "set", parent_path="key-sets")
    register_foreign(bp, "keys", "set", "key_sets")
    return bp
