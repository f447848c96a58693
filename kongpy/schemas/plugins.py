"""The ``plugins`` entity and the helpers plugin ``schema.py`` files build on.

A plugin's Python half declares a :class:`PluginConfig` subclass (the shape of
``config``) and a few constants; :func:`spec_from_module` turns them into a
:class:`PluginSpec`. The ``plugins`` entity schema is bound to the specs a
node enabled (:meth:`PluginSchema.bind`), so two nodes with different
``plugins =`` lists validate differently, as in Kong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, ClassVar, Mapping

from marshmallow import RAISE, Schema, ValidationError

from kongpy.schemas import coerce, fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema, entity_error, is_empty, quoted

DEFAULT_PROTOCOLS = ("grpc", "grpcs", "http", "https")
HTTP_PROTOCOLS = ("grpc", "grpcs", "http", "https")
NOT_ENABLED = "plugin '{}' not enabled; add it to the 'plugins' configuration property"
MUST_BE_NULL = "value must be null"

ConfigCheck = Callable[[Mapping[str, Any]], "list[str]"]


class PluginConfig(Schema):
    """Base of a plugin's ``config`` shape: Kong-typed fields, unknown ones refused.

    Subclasses may override :meth:`check` for checks spanning several fields;
    it returns entity-level messages (Kong reports them under ``@entity``).
    """

    class Meta:
        unknown = RAISE

    @classmethod
    def field_map(cls) -> dict[str, f.KongField]:
        return dict(cls._declared_fields)  # type: ignore[attr-defined]

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        return []

    @classmethod
    def custom_validator(cls, config: Mapping[str, Any]) -> str | None:
        """Kong's record-level ``custom_validator``: a message reported on ``config`` itself."""
        return None


def only_one_of(config: Mapping[str, Any], names: tuple[str, ...]) -> list[str]:
    """Kong's ``only_one_of`` + ``at_least_one_of`` pair on ``config.<name>`` fields."""
    dotted = tuple(f"config.{n}" for n in names)
    set_ = [n for n in names if not is_empty(config.get(n))]
    if len(set_) > 1:
        return [f"only one of these fields must be non-empty: {quoted(dotted)}"]
    if not set_:
        return [f"at least one of these fields must be non-empty: {quoted(dotted)}"]
    return []


@dataclass(frozen=True)
class PluginSpec:
    """What the control plane knows about one plugin."""

    name: str
    priority: int
    version: str
    config: type[PluginConfig]
    protocols: tuple[str, ...] = DEFAULT_PROTOCOLS
    no_consumer: bool = False
    no_route: bool = False
    no_service: bool = False
    phases: tuple[str, ...] = ()
    source: str = ""
    extra: dict = field(default_factory=dict)

    def record(self) -> f.Record:
        return f.Record(self.config.field_map(), required=True)

    def validate_config(self, raw: Any) -> tuple[dict | None, Any]:
        """(config with defaults, None) or (None, errors) in Kong's nested shape."""
        try:
            value = self.record().validate_value({} if raw is None else raw)
        except ValidationError as exc:
            return None, f.first_error(exc.messages)
        message = self.config.custom_validator(value)
        if message is not None:
            return None, message
        return value, None

    def describe(self) -> dict:
        config = self.record().describe()
        fields: list[dict] = [
            {"protocols": t.protocols(default=list(self.protocols)).describe()},
            {"consumer": {"type": "foreign", "reference": "consumers",
                          "eq": None} if self.no_consumer else
             {"type": "foreign", "reference": "consumers"}},
            {"config": config},
        ]
        return {"fields": fields, "entity_checks": []}


def spec_from_module(module: ModuleType, name: str, facts: Mapping[str, Any],
                     source: str = "") -> PluginSpec:
    """A plugin's spec: PROTOCOLS, NO_CONSUMER and Config from its schema.py, and
    the PRIORITY, VERSION and phases its handler.lua declares (``facts``)."""
    return PluginSpec(
        name=name,
        priority=int(facts["priority"]),
        version=str(facts["version"]),
        config=module.Config,
        protocols=tuple(getattr(module, "PROTOCOLS", DEFAULT_PROTOCOLS)),
        no_consumer=bool(getattr(module, "NO_CONSUMER", False)),
        no_route=bool(getattr(module, "NO_ROUTE", False)),
        no_service=bool(getattr(module, "NO_SERVICE", False)),
        phases=tuple(facts.get("phases") or ()),
        source=source,
    )


class _ConfigField(f.Record):
    """``config`` as stored: validated by the plugin's spec in ``check_entity``."""

    def __init__(self) -> None:
        super().__init__({})

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(self.type_error)
        return value


class PluginSchema(EntitySchema):
    entity_name = "plugins"
    endpoint_key = "instance_name"
    unique_fields = ("instance_name",)
    cache_key = ("name", "route", "service", "consumer")

    # The node's enabled plugins, by name (see :meth:`bind`).
    registry: ClassVar[Mapping[str, PluginSpec]] = {}

    id = t.uuid()
    name = f.String(required=True)
    instance_name = t.utf8_name()
    created_at = t.auto_timestamp_s()
    updated_at = t.auto_timestamp_s()
    route = t.foreign("routes", on_delete="cascade")
    service = t.foreign("services", on_delete="cascade")
    consumer = t.foreign("consumers", on_delete="cascade")
    config = _ConfigField()
    protocols = t.protocols()
    enabled = f.Boolean(required=True, default=True)
    tags = t.tags()

    @classmethod
    def bind(cls, registry: Mapping[str, PluginSpec]) -> type["PluginSchema"]:
        return type("PluginSchema", (cls,), {"registry": dict(registry)})

    @classmethod
    def coerce_form(cls, data: dict) -> dict:
        """Form bodies: coerce ``config.*`` values by the named plugin's fields."""
        spec = cls.registry.get(data.get("name")) if isinstance(data.get("name"), str) \
            else None
        if spec is not None and isinstance(data.get("config"), dict):
            data["config"] = coerce.coerce(spec.record(), data["config"])
        return data

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        name = data.get("name")
        if "name" in errors or not isinstance(name, str):
            return
        spec = self.registry.get(name)
        if spec is None:
            errors["name"] = NOT_ENABLED.format(name)
            return
        for fk, forbidden in (("consumer", spec.no_consumer), ("route", spec.no_route),
                              ("service", spec.no_service)):
            if forbidden and data.get(fk) is not None and fk not in errors:
                errors[fk] = MUST_BE_NULL
        if "config" not in errors:
            config, err = spec.validate_config(raw.get("config"))
            if err is not None:
                errors["config"] = err
            else:
                data["config"] = config
                for message in spec.config.check(config):
                    entity_error(errors, message)
        self._check_protocols(spec, data, errors)

    @staticmethod
    def _check_protocols(spec: PluginSpec, data: dict, errors: dict) -> None:
        if "protocols" in errors:
            return
        protocols = data.get("protocols")
        if protocols is None:
            data["protocols"] = list(spec.protocols)
            return
        bad = {}
        for idx, proto in enumerate(protocols):
            if proto not in spec.protocols:
                bad[idx] = "expected one of: " + ", ".join(spec.protocols)
        if bad:
            out: list[Any] = [None] * (max(bad) + 1)
            for idx, msg in bad.items():
                out[idx] = msg
            errors["protocols"] = out
