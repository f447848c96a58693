"""``/plugins`` and everything around it: nested plugin collections, plugin
schemas, ``/plugins/enabled`` and the endpoints of plugin-owned entities."""
from __future__ import annotations

from flask import Blueprint, Response

from kongpy.admin.resources import (dao_for, json_response, read_body, register_entity,
                                    register_foreign, register_nested, state)
from kongpy.schemas.plugins import PluginSpec


def loaded() -> dict:
    return state()["db"].loaded_plugins


def _spec(name: str) -> PluginSpec | None:
    plugin = loaded().get(name)
    return plugin.spec if plugin else None


def _enabled() -> Response:
    return json_response({"enabled_plugins": sorted(loaded())})


def _schema(name: str) -> Response:
    spec = _spec(name)
    if spec is None:
        return json_response({"message": f"No plugin named '{name}'"}, 404)
    return json_response(spec.describe())


def _validate() -> Response:
    dao = dao_for("plugins")
    dao.schema.validate(read_body(dao))
    return json_response({"message": "schema validation successful"})


def available_on_server() -> dict:
    return {name: {"version": p.spec.version, "priority": p.spec.priority}
            for name, p in sorted(loaded().items())}


def enabled_in_cluster() -> list[str]:
    return sorted({row["name"] for row in dao_for("plugins").each()})


def _plugin_entities(bp: Blueprint) -> None:
    for plugin in loaded().values():
        for ep in plugin.endpoints:
            entity, path = ep["entity"], ep["path"]
            register_entity(bp, entity, path)
            register_foreign(bp, entity, "consumer", "consumers", path)
            if ep.get("nested"):
                register_nested(bp, "consumers", entity, "consumer", ep["nested"])


def blueprint() -> Blueprint:
    bp = Blueprint("plugins", __name__)
    bp.add_url_rule("/plugins/enabled", "plugins_enabled", _enabled, methods=["GET"])
    bp.add_url_rule("/plugins/schema/<name>", "plugins_schema_legacy", _schema,
                    methods=["GET"])
    bp.add_url_rule("/schemas/plugins/validate", "plugin_schema_validate", _validate,
                    methods=["POST"])
    bp.add_url_rule("/schemas/plugins/<name>", "plugin_schema", _schema, methods=["GET"])
    register_entity(bp, "plugins")
    for parent, fk in (("routes", "route"), ("services", "service"),
                       ("consumers", "consumer")):
        register_foreign(bp, "plugins", fk, parent)
    register_nested(bp, "services", "plugins", "service")
    register_nested(bp, "routes", "plugins", "route")
    _plugin_entities(bp)
    return bp
