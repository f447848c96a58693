"""``/services`` and the routes nested under a service."""
from __future__ import annotations

from flask import Blueprint

from kongpy.admin.resources import register_entity, register_nested


def blueprint() -> Blueprint:
    bp = Blueprint("services", __name__)
    register_entity(bp, "services")
    register_nested(bp, "services", "routes", "service")
    return bp
