"""Schemas written in Kong's Lua schema language, seen from Python.

Plugins declare their configuration (schema.lua) and their entities
(daos.lua) in Lua; the control plane's Lua helper (kongpy.luahelper) loads
them and validates with them. Python still needs their shape: the field
types that turn Admin API form bodies into typed values, the fields an
entity's output lists, its keys, foreign keys and Admin API names. This
module builds those from the JSON form the helper answers (what
``GET /schemas/...`` shows), and entity schema classes whose validation and
write transformations are the helper's.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar, Mapping, Sequence

from kongpy.errors import ConfigError, KongpyError, SchemaViolation
from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema

_SCALARS: dict[str, type[f.KongField]] = {
    "string": f.String, "integer": f.Integer, "number": f.Number, "boolean": f.Boolean,
}


class _Any(f.KongField):
    """A field whose values the Lua schema checks (json, function, unknown types)."""

    kong_type = "json"

    def check_type(self, value: Any) -> Any:
        return value


def field(defn: Mapping[str, Any]) -> f.KongField:
    """A Python field of the same type as one field of a Lua schema's JSON form."""
    kind = defn.get("type")
    common: dict[str, Any] = {"required": bool(defn.get("required"))}
    if "default" in defn:
        common["default"] = defn["default"]
    if kind in _SCALARS:
        return _SCALARS[kind](**common)
    if kind in ("array", "set"):
        cls = f.Set if kind == "set" else f.Array
        return cls(field(defn.get("elements") or {}), **common)
    if kind == "map":
        return f.Map(field(defn.get("keys") or {}), field(defn.get("values") or {}), **common)
    if kind == "record":
        return f.Record(record_fields(defn.get("fields") or []), **common)
    if kind == "foreign":
        return t.foreign(str(defn.get("reference")), on_delete=defn.get("on_delete")
                         or "restrict", required=bool(defn.get("required")))
    return _Any(**common)


def record_fields(items: list[Mapping[str, Any]]) -> dict[str, f.KongField]:
    """``[{name: definition}, ...]`` (Kong's field list) as name → Python field, in order."""
    out: dict[str, f.KongField] = {}
    for item in items:
        for name, defn in item.items():
            out[name] = field(defn)
    return out


def config_json(schema_json: Mapping[str, Any]) -> dict:
    """The ``config`` record of a plugin's schema, in JSON form ({} when none)."""
    for item in schema_json.get("fields") or []:
        if "config" in item:
            return dict(item["config"])
    return {}


def plugin_config(schema_json: Mapping[str, Any]) -> f.KongField:
    """The ``config`` record of a plugin's schema (for form coercion)."""
    config = config_json(schema_json)
    return field(config) if config else f.Record({})


def _at(value: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def translate_backwards(record: Mapping[str, Any], value: dict) -> dict:
    """Kong's reads of a record: each shorthand field with ``translate_backwards``
    (a deprecated name, such as rate-limiting's ``redis_host``) shows again,
    next to the field it maps to, with that field's value. Nested records too;
    ``value`` is changed in place and returned."""
    for item in record.get("shorthand_fields") or []:
        for name, defn in item.items():
            path = defn.get("translate_backwards")
            if path:
                value[name] = copy.deepcopy(_at(value, list(path)))
    for item in record.get("fields") or []:
        for name, defn in item.items():
            if defn.get("type") == "record" and isinstance(value.get(name), dict):
                translate_backwards(defn, value[name])
    return value


def hide_shorthands(record: Mapping[str, Any], value: dict) -> dict:
    """``value`` without what :func:`translate_backwards` added (in place)."""
    for item in record.get("shorthand_fields") or []:
        for name, defn in item.items():
            if defn.get("translate_backwards"):
                value.pop(name, None)
    for item in record.get("fields") or []:
        for name, defn in item.items():
            if defn.get("type") == "record" and isinstance(value.get(name), dict):
                hide_shorthands(defn, value[name])
    return value


def drop_replaced(record: Mapping[str, Any], value: dict, given: Mapping[str, Any]) -> bool:
    """Removes from ``value`` (in place) what the deprecated shorthand fields
    present in ``given`` replace (their ``deprecation.replaced_with`` paths),
    in nested records too; whether anything was removed."""
    dropped = False
    for item in record.get("shorthand_fields") or []:
        for name, defn in item.items():
            if given.get(name) is None:
                continue
            for replaced in (defn.get("deprecation") or {}).get("replaced_with") or []:
                *parents, last = list(replaced.get("path") or [None])
                holder = _at(value, parents) if parents else value
                if isinstance(holder, dict) and last in holder:
                    del holder[last]
                    dropped = True
    for item in record.get("fields") or []:
        for name, defn in item.items():
            if defn.get("type") == "record" and isinstance(value.get(name), dict) \
                    and isinstance(given.get(name), Mapping):
                dropped = drop_replaced(defn, value[name], given[name]) or dropped
    return dropped


Validate = Callable[..., "tuple[dict | None, dict | None]"]
# each answer: (entity, None, None) | (None, field errors, None) | (None, None, message)
ValidateMany = Callable[[str, "list[Any]"], "list[tuple[dict | None, dict | None, str | None]]"]
Transform = Callable[[str, Any, Any], dict]
Accepts = Callable[[str, str, str], bool]


class LuaEntitySchema(EntitySchema):
    """An entity a plugin's daos.lua owns; validation runs in the Lua helper."""

    lua_validate: ClassVar[Validate]
    lua_validate_many: ClassVar[ValidateMany | None] = None
    lua_transform: ClassVar[Transform]
    lua_accepts: ClassVar[Accepts]
    lua_schema: ClassVar[dict] = {}
    has_transformations: ClassVar[bool] = False
    admin_api_name: ClassVar[str | None] = None
    admin_api_nested_name: ClassVar[str | None] = None
    generate_admin_api: ClassVar[bool] = True

    @classmethod
    def validate(cls, raw: Any) -> dict:
        return cls._validate(raw, ())

    @classmethod
    def validate_update(cls, merged: Any, patch: Any, current: Mapping) -> dict:
        original = {k: v for k, v in patch.items() if k != "ttl"} \
            if isinstance(patch, Mapping) else {}
        rbw = {k: v for k, v in current.items() if k != "ttl"}
        return cls._validate(merged, (original, rbw))

    @classmethod
    def _validate(cls, raw: Any, update: tuple) -> dict:
        raw, ttl, errors = cls._before(raw)
        value, lua_errors = cls.lua_validate(cls.entity_name, raw, *update)
        return cls._after(value, lua_errors, ttl, errors)

    @classmethod
    def validate_many(cls, raws: Sequence[Any]) -> list[dict | KongpyError]:
        """One round trip to the helper for all of ``raws`` (a declarative load)."""
        if cls.lua_validate_many is None:
            return super().validate_many(raws)
        out: list[Any] = [None] * len(raws)  # every slot is filled below
        ready: list[tuple[int, dict, Any, dict]] = []
        for at, raw in enumerate(raws):
            try:
                ready.append((at, *cls._before(raw)))
            except SchemaViolation as exc:
                out[at] = exc
        answers = cls.lua_validate_many(cls.entity_name, [r[1] for r in ready])
        for (at, _, ttl, errors), (value, lua_errors, message) in zip(ready, answers):
            if message is not None:
                out[at] = ConfigError(message)
                continue
            try:
                out[at] = cls._after(value, lua_errors, ttl, errors)
            except SchemaViolation as exc:
                out[at] = exc
        return out

    @classmethod
    def _before(cls, raw: Any) -> tuple[dict, Any, dict]:
        """The entity without its ttl (Python checks it), the ttl and its errors."""
        if not isinstance(raw, Mapping):
            raise SchemaViolation({"@entity": ["expected a record"]})
        raw = dict(raw)
        ttl = raw.pop("ttl", None) if cls.uses_ttl else None
        errors: dict[str, Any] = {}
        if ttl is not None:
            ttl, ttl_errors = _check_ttl(ttl)
            errors.update(ttl_errors)
        return raw, ttl, errors

    @classmethod
    def _after(cls, value: dict | None, lua_errors: dict | None, ttl: Any,
               errors: dict) -> dict:
        errors.update(lua_errors or {})
        # Lua numbers reach 2^1023: an integer column holds 64 bits
        for name, fld in cls.field_map().items():
            if isinstance(fld, f.Integer) and name not in errors \
                    and f.out_of_int64((value or {}).get(name)):
                errors[name] = f.INT64_ERROR
        if errors:
            raise SchemaViolation(errors)
        assert value is not None
        if cls.uses_ttl:
            value["ttl"] = ttl
        return value

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        if not cls.has_transformations:
            return data
        ttl = data.pop("ttl", None)
        out = cls.lua_transform(cls.entity_name, data, dict(supplied))
        if cls.uses_ttl:
            out["ttl"] = ttl
        return out

    @classmethod
    def to_output(cls, row: Mapping) -> dict:
        """Every field, unset ones as null; a field the stored row predates
        (a later version of the plugin added it) reads as its default, as
        Kong's ``ADD COLUMN … DEFAULT`` fills the rows already there."""
        out = {}
        for name, fld in cls.field_map().items():
            if name in row:
                out[name] = row[name]
            else:
                out[name] = copy.deepcopy(fld.kong_default) if fld.has_default else None
        return translate_backwards(cls.lua_schema, copy.deepcopy(out))

    @classmethod
    def stored(cls, entity: Mapping) -> dict:
        return hide_shorthands(cls.lua_schema, copy.deepcopy(dict(entity)))

    @classmethod
    def accepts_rehash(cls, old: str, new: str) -> bool:
        return bool(cls.rehash_field) and cls.lua_accepts(cls.entity_name, old, new)

    @classmethod
    def describe(cls) -> dict:
        return dict(cls.lua_schema)


_TTL = t.integer(0, 100000000)


def _check_ttl(value: Any) -> tuple[Any, dict[str, str]]:
    """The ttl as an int (``100.0`` reads back as ``100``) and its errors."""
    try:
        return _TTL.validate_value(value), {}
    except Exception as exc:  # noqa: BLE001 - a ValidationError with Kong's message
        messages = getattr(exc, "messages", None)
        return value, {"ttl": messages[0] if isinstance(messages, list) else str(exc)}


def entity_schema(entity: Mapping[str, Any], validate: Validate, transform: Transform,
                  accepts: Accepts,
                  validate_many: ValidateMany | None = None) -> type[LuaEntitySchema]:
    """The class of one entity of a plugin, from the helper's description of it."""
    desc, schema_json = entity["describe"], entity["schema"]
    fields = record_fields(schema_json.get("fields") or [])
    cache_key = tuple(desc.get("cache_key") or ())
    attrs: dict[str, Any] = dict(fields)
    if desc.get("ttl"):
        attrs["ttl"] = t.integer(0, 100000000)
    attrs.update({
        "entity_name": desc["name"],
        "primary_key": tuple(desc.get("primary_key") or ("id",)),
        "endpoint_key": desc.get("endpoint_key"),
        "unique_fields": tuple(desc.get("unique") or ()),
        "cache_key": cache_key if len(cache_key) > 1 else (),
        "kong_cache_key": cache_key,
        "uses_ttl": bool(desc.get("ttl")),
        "lua_schema": dict(schema_json),
        "has_transformations": bool(entity.get("has_transformations")),
        "rehash_field": entity.get("rehash_field"),
        "admin_api_name": desc.get("admin_api_name"),
        "admin_api_nested_name": desc.get("admin_api_nested_name"),
        "generate_admin_api": bool(desc.get("generate_admin_api", True)),
        "lua_validate": staticmethod(validate),
        "lua_validate_many": staticmethod(validate_many) if validate_many else None,
        "lua_transform": staticmethod(transform),
        "lua_accepts": staticmethod(accepts),
    })
    return type(f"{desc['name']}_schema", (LuaEntitySchema,), attrs)
