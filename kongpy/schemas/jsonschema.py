"""Kong schema descriptions as JSON Schema (2020-12, the dialect of OpenAPI 3.1).

The input is what ``GET /schemas/{entity}`` and ``GET /schemas/plugins/{name}``
answer: an entity schema's :meth:`describe` (built from its marshmallow
fields) or a plugin's schema.lua in Kong's JSON form. One converter serves
both, so the OpenAPI document and the schema endpoints cannot disagree.

Three modes, because Kong reads an entity in three ways:

- ``create`` (POST, PUT): a required field without a default must be there;
- ``update`` (PATCH): nothing is required, the stored entity fills the rest;
- ``output``: what a read returns, every field present, unset ones null.

In input, ``null`` is accepted wherever Kong accepts it: on a field that is
not required or has a default (null means "unset", the default then applies).
Unknown fields are refused in input (``additionalProperties: false``), as the
schemas refuse them. Entity checks (``at_least_one_of``, ``conditional``, ...)
and Lua patterns (``match``) have no JSON Schema form; the server checks them.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

MODES = ("create", "update", "output")
UUID = {"type": "string", "format": "uuid"}


def record(fields: Iterable[Mapping[str, Mapping]], mode: str,
           shorthands: Iterable[Mapping[str, Mapping]] = ()) -> dict:
    """An object schema from Kong's ``fields`` list (``[{name: definition}]``)."""
    assert mode in MODES, mode
    props: dict[str, Any] = {}
    required: list[str] = []
    for item in fields:
        for name, desc in item.items():
            props[name] = field(desc, mode)
            if mode == "output" or (mode == "create" and _must_be_given(desc)):
                required.append(name)
    if mode != "output":
        for item in shorthands:
            for name, desc in item.items():
                # A deprecated alias, translated by the server: any value it
                # would take, or null.
                props.setdefault(name, _nullable(field({**desc, "required": False}, mode)))
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    if mode != "output":
        out["additionalProperties"] = False
    return out


def field(desc: Mapping[str, Any], mode: str) -> dict:
    """One field definition (``{"type": "string", "one_of": [...], ...}``)."""
    kind = desc.get("type")
    if kind == "foreign":
        out = _foreign(desc)
    else:
        out = _BUILDERS.get(kind, _any)(desc, mode)
    if desc.get("description"):
        out["description"] = desc["description"]
    if "default" in desc and desc["default"] is not None and mode != "update":
        out["default"] = desc["default"]
    if "eq" in desc:
        out = {"const": desc["eq"]} if desc["eq"] is not None else {"type": "null"}
    elif _may_be_null(desc, mode):
        out = _nullable(out)
    return out


def _must_be_given(desc: Mapping[str, Any]) -> bool:
    if not desc.get("required") or desc.get("default") is not None or desc.get("auto"):
        return False
    if desc.get("type") == "record" and not desc.get("abstract"):
        # A record whose every field may be left out is built from its defaults.
        return any(_must_be_given(d) for item in desc.get("fields", ()) for d in item.values())
    return True


def _may_be_null(desc: Mapping[str, Any], mode: str) -> bool:
    if mode == "output":
        return not desc.get("required") or bool(desc.get("auto"))
    return not _must_be_given(desc)


def _nullable(schema: dict) -> dict:
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if "null" not in kinds:
            schema = {**schema, "type": kinds + ["null"]}
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = list(schema["enum"]) + [None]
        return schema
    if not schema or set(schema) <= {"description", "default"}:
        return schema  # already anything
    return {"anyOf": [schema, {"type": "null"}]}


def _any(desc: Mapping[str, Any], mode: str) -> dict:
    return {}


def _string(desc: Mapping[str, Any], mode: str) -> dict:
    # Kong strings are at least one character long unless a length says otherwise.
    out: dict[str, Any] = {"type": "string", "minLength": desc.get("len_min", 1)}
    if "len_max" in desc:
        out["maxLength"] = desc["len_max"]
    if desc.get("uuid"):
        out["format"] = "uuid"
    if desc.get("one_of"):
        out["enum"] = list(desc["one_of"])
    return out


def _number(kind: str) -> Any:
    def build(desc: Mapping[str, Any], mode: str) -> dict:
        out: dict[str, Any] = {"type": kind}
        if "between" in desc:
            out["minimum"], out["maximum"] = desc["between"]
        if "gt" in desc:
            out["exclusiveMinimum"] = desc["gt"]
        if desc.get("one_of"):
            out["enum"] = list(desc["one_of"])
        return out
    return build


def _boolean(desc: Mapping[str, Any], mode: str) -> dict:
    return {"type": "boolean"}


def _array(desc: Mapping[str, Any], mode: str) -> dict:
    # Elements are never null: an array holds values only.
    elements = field({**desc.get("elements", {}), "required": True}, mode)
    out: dict[str, Any] = {"type": "array", "items": elements}
    if "len_min" in desc:
        out["minItems"] = desc["len_min"]
    if "len_max" in desc:
        out["maxItems"] = desc["len_max"]
    return out


def _map(desc: Mapping[str, Any], mode: str) -> dict:
    out: dict[str, Any] = {"type": "object"}
    if desc.get("values"):
        out["additionalProperties"] = field({**desc["values"], "required": True}, mode)
    if desc.get("keys"):
        out["propertyNames"] = field({**desc["keys"], "required": True}, mode)
    return out


def _record(desc: Mapping[str, Any], mode: str) -> dict:
    if desc.get("abstract"):
        return {"type": "object"}
    # PATCH merges a nested record into the stored one: nothing in it is
    # required then either.
    return record(desc.get("fields", ()), mode, desc.get("shorthand_fields", ()))


def _foreign(desc: Mapping[str, Any]) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": {"id": UUID}}
    if desc.get("reference"):
        out["description"] = f"A reference to one of the {desc['reference']}."
    return out


_BUILDERS = {
    "string": _string, "integer": _number("integer"), "number": _number("number"),
    "boolean": _boolean, "array": _array, "set": _array, "map": _map, "record": _record,
}
