"""``/routes`` and ``/routes/{route}/service``."""
from __future__ import annotations

from flask import Blueprint

from kongpy.admin.resources import register_entity, register_foreign


def blueprint() -> Blueprint:
    bp = Blueprint("routes", __name__)
    register_entity(bp, "routes")
    register_foreign(bp, "routes", "service", "services")
    return bp
