"""Kong-typed marshmallow fields.

Each field knows its Kong type (``string``, ``integer``, ``set``, ...), its
default and its validators, reports Kong's exact messages, and can describe
itself for ``GET /schemas/{entity}``. Validators are plain callables
``value -> error message or None`` run in declaration order, the way Kong
runs a field's validators one after another and stops at the first failure.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Mapping

from marshmallow import ValidationError, fields as ma_fields

REQUIRED = "required field missing"
UNKNOWN = "unknown field"
MISSING_PK = "missing primary key"

Check = Callable[[Any], "str | None"]
_NO_DEFAULT = object()
# Integers a double holds exactly: the range where 5.0 and 5 are the same number.
_EXACT = 2 ** 53


def first_error(messages: Any) -> Any:
    """Reduce marshmallow's error structures to Kong's (one string per field)."""
    if isinstance(messages, list):
        if messages and all(isinstance(m, str) for m in messages):
            return messages[0]
        return [first_error(m) for m in messages]
    if isinstance(messages, dict):
        if messages and all(isinstance(k, int) for k in messages):
            out: list[Any] = [None] * (max(messages) + 1)
            for idx, msg in messages.items():
                out[idx] = first_error(msg)
            return out
        out_map: dict[str, Any] = {}
        for key, val in messages.items():
            key = "@entity" if key == "_schema" else key
            out_map[key] = list(val) if key == "@entity" else first_error(val)
        return out_map
    return messages


class KongField(ma_fields.Field):
    """Base of every Kong-typed field."""

    kong_type = "any"
    type_error = "invalid type"

    def __init__(self, *, required: bool = False, default: Any = _NO_DEFAULT,
                 checks: Iterable[Check] = (), describe: Mapping[str, Any] | None = None,
                 auto: bool = False) -> None:
        self.kong_required = required
        self.kong_default = default
        self.auto = auto
        self.checks = list(checks)
        self.extra = dict(describe or {})
        kwargs: dict[str, Any] = {}
        if default is not _NO_DEFAULT and default is not None:
            kwargs["load_default"] = _default_factory(default)
            kwargs["allow_none"] = not required
        elif required and not auto:
            kwargs["required"] = True
            kwargs["allow_none"] = False
        else:
            kwargs["load_default"] = None
            kwargs["allow_none"] = True
        super().__init__(**kwargs, error_messages={"required": REQUIRED, "null": REQUIRED})

    @property
    def has_default(self) -> bool:
        return self.kong_default is not _NO_DEFAULT and self.kong_default is not None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        value = self.check_type(value)
        for check in self.checks:
            err = check(value)
            if err:
                raise ValidationError(err)
        return value

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value

    def check_type(self, value: Any) -> Any:
        return value

    def validate_value(self, value: Any) -> Any:
        """Validate one value outside a schema (elements, map values); raises."""
        if value is None:
            raise ValidationError(REQUIRED)
        return self._deserialize(value, None, None)

    def describe(self) -> dict:
        out: dict[str, Any] = {"type": self.kong_type}
        if self.kong_required:
            out["required"] = True
        if self.auto:
            out["auto"] = True
        if self.kong_default is not _NO_DEFAULT:
            out["default"] = self.kong_default
        out.update(self.extra)
        return out


def _default_factory(default: Any) -> Any:
    if isinstance(default, (list, dict)):
        return lambda: copy.deepcopy(default)
    return default


class String(KongField):
    kong_type = "string"
    type_error = "expected a string"

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError(self.type_error)
        if value == "":
            # Kong strings have an implicit minimum length of one.
            raise ValidationError("length must be at least 1")
        return value


# What every datastore stores in an integer column (SQLite INTEGER,
# PostgreSQL BIGINT, Cassandra bigint).
INT64 = (-(2 ** 63), 2 ** 63 - 1)
INT64_ERROR = f"value should be between {INT64[0]} and {INT64[1]}"


def out_of_int64(value: Any) -> bool:
    """Whether ``value`` is a number no integer column can hold."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and not INT64[0] <= value <= INT64[1]


class Integer(KongField):
    kong_type = "integer"
    type_error = "expected an integer"

    def check_type(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(self.type_error)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValidationError(self.type_error)
            value = int(value)
        return value

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        # the field's own bounds speak first (Kong's message)
        value = super()._deserialize(value, attr, data, **kwargs)
        if out_of_int64(value):
            raise ValidationError(INT64_ERROR)
        return value


class Number(KongField):
    kong_type = "number"
    type_error = "expected a number"

    def check_type(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(self.type_error)
        # Lua has one number type and Kong's JSON writes 5.0 as 5; keeping
        # Python's float would answer 5.0 (a form's "5" is parsed as a float).
        if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT:
            return int(value)
        return value


class Boolean(KongField):
    kong_type = "boolean"
    type_error = "expected a boolean"

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError(self.type_error)
        return value


class Array(KongField):
    kong_type = "array"
    type_error = "expected an array"

    def __init__(self, elements: KongField, **kwargs: Any) -> None:
        self.elements = elements
        super().__init__(**kwargs)

    def check_type(self, value: Any) -> Any:
        if isinstance(value, dict) and not value:
            return []  # an empty JSON object is also an empty array to Kong
        if not isinstance(value, list):
            raise ValidationError(self.type_error)
        errors: dict[int, Any] = {}
        out = []
        for idx, item in enumerate(value):
            try:
                out.append(self.elements.validate_value(item))
            except ValidationError as exc:
                errors[idx] = first_error(exc.messages)
        if errors:
            raise ValidationError(errors)
        return self._post(out)

    def _post(self, items: list) -> list:
        return items

    def describe(self) -> dict:
        out = super().describe()
        out["elements"] = self.elements.describe()
        return out


class Set(Array):
    kong_type = "set"
    type_error = "expected a set"

    def _post(self, items: list) -> list:
        seen: list = []
        for item in items:
            if item not in seen:
                seen.append(item)
        return seen


class Map(KongField):
    kong_type = "map"
    type_error = "expected a map"

    def __init__(self, keys: KongField, values: KongField, **kwargs: Any) -> None:
        self.keys, self.values = keys, values
        super().__init__(**kwargs)

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(self.type_error)
        errors: dict[str, Any] = {}
        out = {}
        for key, item in value.items():
            try:
                self.keys.validate_value(key)
                out[key] = self.values.validate_value(item)
            except ValidationError as exc:
                errors[str(key)] = first_error(exc.messages)
        if errors:
            raise ValidationError(errors)
        return out

    def describe(self) -> dict:
        out = super().describe()
        out["keys"] = self.keys.describe()
        out["values"] = self.values.describe()
        return out


class Record(KongField):
    """A nested record; ``at_least_one_of`` is its only entity check for now."""

    kong_type = "record"
    type_error = "expected a record"

    def __init__(self, fields: Mapping[str, KongField],
                 at_least_one_of: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.fields = dict(fields)
        self.at_least_one_of = at_least_one_of
        super().__init__(**kwargs)

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(self.type_error)
        errors: dict[str, Any] = {}
        out: dict[str, Any] = {}
        for key in value:
            if key not in self.fields:
                errors[key] = UNKNOWN
        for name, field in self.fields.items():
            out[name], err = _record_member(field, value.get(name, _NO_DEFAULT))
            if err is not None:
                errors[name] = err
        if self.at_least_one_of and all(out.get(n) in (None, "", [], {})
                                        for n in self.at_least_one_of):
            quoted = ", ".join(f"'{n}'" for n in self.at_least_one_of)
            errors["@entity"] = [f"at least one of these fields must be non-empty: {quoted}"]
        if errors:
            raise ValidationError(errors)
        return out

    def describe(self) -> dict:
        out = super().describe()
        out["fields"] = [{n: f.describe()} for n, f in self.fields.items()]
        if self.at_least_one_of:
            out["entity_checks"] = [{"at_least_one_of": list(self.at_least_one_of)}]
        return out


def _record_member(field: KongField, value: Any) -> tuple[Any, Any]:
    if value is _NO_DEFAULT or value is None:
        if field.has_default:
            return copy.deepcopy(field.kong_default), None
        if field.kong_required and not field.auto:
            return None, REQUIRED
        return None, None
    try:
        return field.validate_value(value), None
    except ValidationError as exc:
        return None, first_error(exc.messages)


class Foreign(Record):
    """A foreign key: ``{"id": "<uuid>"}`` or null.

    Kong's validation of a foreign field: a valid primary key is enough and
    any other field of the object is ignored (the value becomes ``{"id": …}``).
    Without one, the object is checked as a partial entity of the referenced
    schema, whose errors win (``service.protocol: expected one of: …``); when
    it has none, the primary key's error stands (``service.id: missing
    primary key``).
    """

    kong_type = "foreign"

    def __init__(self, reference: str, id_field: KongField,
                 on_delete: str = "restrict", **kwargs: Any) -> None:
        self.reference = reference
        self.on_delete = on_delete
        super().__init__({"id": id_field}, **kwargs)

    def check_type(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(self.type_error)
        pk_error = self._pk_error(value)
        if pk_error is None:
            return {"id": value["id"]}
        from kongpy import schemas  # the registry imports this module
        referenced = schemas.get(self.reference)
        partial = referenced.partial_errors(value) if referenced is not None else {}
        raise ValidationError(partial or {"id": pk_error})

    def _pk_error(self, value: dict) -> str | None:
        if value.get("id", False) is False:
            return MISSING_PK
        if value["id"] is None:
            return REQUIRED
        try:
            self.fields["id"].validate_value(value["id"])
        except ValidationError as exc:
            return first_error(exc.messages)
        return None

    def describe(self) -> dict:
        out = KongField.describe(self)
        out["reference"] = self.reference
        if self.on_delete != "restrict":
            out["on_delete"] = self.on_delete
        return out
