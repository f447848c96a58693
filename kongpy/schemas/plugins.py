"""The ``plugins`` entity, validated with each plugin's schema.lua.

A plugin's configuration is declared once, in Kong's schema language
(schema.lua); the control plane's Lua helper validates a plugin entity with
the plugins entity schema and the plugin's schema as its subschema, exactly
as Kong does. :class:`PluginSpec` holds what Python needs to know about a
plugin (from kongpy.plugins). The ``plugins`` entity schema is bound to the
node's enabled plugins (:meth:`PluginSchema.bind`), so two nodes with
different ``plugins =`` lists validate differently, as in Kong.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

from kongpy.errors import ConfigError, KongpyError, SchemaViolation
from kongpy.schemas import coerce, fields as f, lua as lua_schema, typedefs as t
from kongpy.schemas.base import EntitySchema

DEFAULT_PROTOCOLS = ("grpc", "grpcs", "http", "https")


@dataclass(frozen=True)
class PluginSpec:
    """What the control plane knows about one plugin (from its Lua files)."""

    name: str
    priority: int
    version: str
    phases: tuple[str, ...] = ()
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    no_consumer: bool = False
    no_route: bool = False
    no_service: bool = False
    # The plugin's schema in Kong's JSON form (GET /schemas/plugins/{name}).
    schema: dict = field(default_factory=dict)
    source: str = ""

    def record(self) -> f.KongField:
        """The ``config`` record's field types (form bodies are coerced by them)."""
        return lua_schema.plugin_config(self.schema)

    def describe(self) -> dict:
        return dict(self.schema)


class PluginSchema(EntitySchema):
    entity_name = "plugins"
    endpoint_key = "instance_name"
    unique_fields = ("instance_name",)
    cache_key = ("name", "route", "service", "consumer")

    # The node's enabled plugins, by name, and the Lua helper's validation
    # of the plugins entity with their schemas (see :meth:`bind`).
    registry: ClassVar[Mapping[str, PluginSpec]] = {}
    lua_validate: ClassVar[Callable[[str, Any], Any] | None] = None
    lua_validate_many: ClassVar[Callable[[str, list], list] | None] = None

    id = t.uuid()
    name = f.String(required=True)
    instance_name = t.utf8_name()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    route = t.foreign("routes", on_delete="cascade")
    service = t.foreign("services", on_delete="cascade")
    consumer = t.foreign("consumers", on_delete="cascade")
    config = f.Record({}, describe={"abstract": True})
    protocols = t.protocols()
    enabled = f.Boolean(required=True, default=True)
    tags = t.tags()

    @classmethod
    def bind(cls, registry: Mapping[str, PluginSpec], validate: Callable[[str, Any], Any],
             validate_many: Callable[[str, list], list] | None = None
             ) -> type["PluginSchema"]:
        many = staticmethod(validate_many) if validate_many else None
        return type("PluginSchema", (cls,), {"registry": dict(registry),
                                             "lua_validate": staticmethod(validate),
                                             "lua_validate_many": many})

    @classmethod
    def coerce_form(cls, data: dict) -> dict:
        """Form bodies: coerce ``config.*`` values by the named plugin's fields."""
        spec = cls.registry.get(data.get("name")) if isinstance(data.get("name"), str) \
            else None
        if spec is not None and isinstance(data.get("config"), dict):
            data["config"] = coerce.coerce(spec.record(), data["config"])
        return data

    @classmethod
    def to_output(cls, row: Mapping) -> dict:
        """As Kong reads a plugin: its config shows the deprecated shorthand
        fields that translate backwards (rate-limiting's ``redis_host``)."""
        out = super().to_output(row)
        spec = cls.registry.get(out["name"]) if isinstance(out.get("name"), str) else None
        config = out.get("config")
        if spec is not None and isinstance(config, dict):
            out["config"] = lua_schema.translate_backwards(lua_schema.config_json(spec.schema),
                                                           copy.deepcopy(config))
        return out

    @classmethod
    def stored(cls, entity: Mapping) -> dict:
        out = dict(entity)
        spec = cls.registry.get(out["name"]) if isinstance(out.get("name"), str) else None
        if spec is not None and isinstance(out.get("config"), dict):
            out["config"] = lua_schema.hide_shorthands(lua_schema.config_json(spec.schema),
                                                       copy.deepcopy(out["config"]))
        return out

    @classmethod
    def update_base(cls, current: Mapping, patch: Mapping) -> Mapping:
        """Kong expands a PATCH's deprecated shorthand fields (rate-limiting's
        ``redis_host``) before it merges the patch into the stored plugin, so
        the shorthand replaces the value it maps to: the stored value at that
        path must not stay behind to contradict it."""
        spec = cls.registry.get(current.get("name"))  # type: ignore[arg-type]
        given, stored = patch.get("config"), current.get("config")
        if spec is None or not isinstance(given, Mapping) or not isinstance(stored, dict):
            return current
        config = copy.deepcopy(stored)
        if not lua_schema.drop_replaced(lua_schema.config_json(spec.schema), config, given):
            return current
        return {**current, "config": config}

    @classmethod
    def validate(cls, raw: Any) -> dict:
        """Kong's validation of a plugin: the plugins entity with the plugin's
        schema.lua as its subschema, run by the Lua helper (defaults filled)."""
        if not isinstance(raw, Mapping):
            raise SchemaViolation({"@entity": ["expected a record"]})
        assert cls.lua_validate is not None, "PluginSchema.bind() first"
        value, errors = cls.lua_validate("plugins", dict(raw))
        if errors:
            raise SchemaViolation(errors)
        return value

    @classmethod
    def validate_many(cls, raws: Sequence[Any]) -> list[dict | KongpyError]:
        """As :meth:`validate`, all of ``raws`` in one round trip to the helper."""
        if cls.lua_validate_many is None:
            return super().validate_many(raws)
        out: list[Any] = [None] * len(raws)  # every slot is filled below
        ready: list[tuple[int, dict]] = []
        for at, raw in enumerate(raws):
            if isinstance(raw, Mapping):
                ready.append((at, dict(raw)))
            else:
                out[at] = SchemaViolation({"@entity": ["expected a record"]})
        answers = cls.lua_validate_many("plugins", [raw for _, raw in ready])
        for (at, _), (value, errors, message) in zip(ready, answers):
            out[at] = (ConfigError(message) if message is not None
                       else SchemaViolation(errors) if errors else value)
        return out
