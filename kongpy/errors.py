"""Errors as data: Kong's numeric codes and names, one code -> HTTP map.

Every datastore-level failure the Admin API can report is a ``DaoError``
carrying Kong's ``code``/``name``/``message``/``fields``. The Admin API edge
turns them into bodies with :data:`HTTP_STATUS`; nothing below it knows HTTP.
"""
from __future__ import annotations

from typing import Any, Mapping

INVALID_PRIMARY_KEY = 1
SCHEMA_VIOLATION = 2
PRIMARY_KEY_VIOLATION = 3
FOREIGN_KEY_VIOLATION = 4
UNIQUE_VIOLATION = 5
NOT_FOUND = 6
INVALID_OFFSET = 7
DATABASE_ERROR = 8
INVALID_SIZE = 9
INVALID_UNIQUE = 10
INVALID_OPTIONS = 11
OPERATION_UNSUPPORTED = 12
FOREIGN_KEYS_UNRESOLVED = 13
DECLARATIVE_CONFIG = 14
REFERENCED_BY_OTHERS = 19

NAMES = {
    INVALID_PRIMARY_KEY: "invalid primary key",
    SCHEMA_VIOLATION: "schema violation",
    PRIMARY_KEY_VIOLATION: "primary key violation",
    FOREIGN_KEY_VIOLATION: "foreign key violation",
    UNIQUE_VIOLATION: "unique constraint violation",
    NOT_FOUND: "not found",
    INVALID_OFFSET: "invalid offset",
    DATABASE_ERROR: "database error",
    INVALID_SIZE: "invalid size",
    INVALID_UNIQUE: "invalid unique %s",
    INVALID_OPTIONS: "invalid options",
    OPERATION_UNSUPPORTED: "operation unsupported",
    FOREIGN_KEYS_UNRESOLVED: "foreign keys unresolved",
    DECLARATIVE_CONFIG: "invalid declarative configuration",
    REFERENCED_BY_OTHERS: "referenced by others",
}

# The single code -> HTTP status map, used only at the Admin API edge.
# Primary key violations answer 400 through the generated CRUD endpoints.
HTTP_STATUS = {
    INVALID_PRIMARY_KEY: 400,
    SCHEMA_VIOLATION: 400,
    PRIMARY_KEY_VIOLATION: 400,
    FOREIGN_KEY_VIOLATION: 400,
    UNIQUE_VIOLATION: 409,
    NOT_FOUND: 404,
    INVALID_OFFSET: 400,
    DATABASE_ERROR: 500,
    INVALID_SIZE: 400,
    INVALID_UNIQUE: 400,
    INVALID_OPTIONS: 400,
    OPERATION_UNSUPPORTED: 405,
    FOREIGN_KEYS_UNRESOLVED: 400,
    DECLARATIVE_CONFIG: 400,
    REFERENCED_BY_OTHERS: 400,
}


def pretty_key(key: Mapping[str, Any]) -> str:
    """Render a key the way Kong's messages do: ``{id="x"}``, ``{name="a",port=80}``."""
    parts = []
    for name in sorted(key):
        parts.append(f"{name}={_pretty_value(key[name])}")
    return "{" + ",".join(parts) + "}"


def _pretty_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return pretty_key(value)
    return f'"{value}"'


class KongpyError(Exception):
    """Root of every error kongpy raises on purpose."""


class ConfigurationError(KongpyError):
    """A configuration value that cannot be honoured (e.g. unknown database)."""


class DatastoreUnavailable(KongpyError):
    """The datastore cannot be reached; the Admin API answers 503."""

    http_status = 503

    def __init__(self, message: str = "datastore unavailable") -> None:
        super().__init__(message)
        self.message = message


class DaoError(KongpyError):
    """An error with Kong's code, name, message and optional fields."""

    code = DATABASE_ERROR
    fields_key = "fields"

    def __init__(self, message: str | None = None, fields: Any = None,
                 name: str | None = None) -> None:
        self.name = name or NAMES[self.code]
        self.message = message if message is not None else self.name
        self.fields = fields
        super().__init__(self.message)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def to_body(self) -> dict:
        body: dict[str, Any] = {"code": self.code, "name": self.name,
                                "message": self.message}
        if self.fields is not None:
            body[self.fields_key] = self.fields
        return body


class InvalidPrimaryKey(DaoError):
    code = INVALID_PRIMARY_KEY

    def __init__(self, pk: Mapping[str, Any]) -> None:
        super().__init__(f"invalid primary key: '{pretty_key(pk)}'", dict(pk))


def _flatten_field_errors(fields: Mapping[str, Any]) -> list[str]:
    """Kong's message order: entity errors first, then fields sorted by name."""
    buf = list(fields.get("@entity") or [])
    for name in sorted(k for k in fields if k != "@entity"):
        err = fields[name]
        if isinstance(err, Mapping):
            for sub in sorted(err, key=str):
                buf.append(f"{name}.{sub}: {_flat(err[sub])}")
        elif isinstance(err, list):
            for idx, sub_err in enumerate(err, 1):
                if sub_err is not None:
                    buf.append(f"{name}.{idx}: {_flat(sub_err)}")
        else:
            buf.append(f"{name}: {err}")
    return buf


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return pretty_key(value)
    if isinstance(value, list):
        return "{" + ",".join(_pretty_value(v) for v in value) + "}"
    return str(value)


class SchemaViolation(DaoError):
    code = SCHEMA_VIOLATION

    def __init__(self, fields: Mapping[str, Any]) -> None:
        buf = _flatten_field_errors(fields)
        if len(buf) == 1:
            message = f"schema violation ({buf[0]})"
        else:
            message = f"{len(buf)} schema violations ({'; '.join(buf)})"
        ordered = {k: fields[k] for k in ("@entity",) if k in fields}
        ordered.update((k, fields[k]) for k in sorted(fields) if k != "@entity")
        super().__init__(message, ordered)


class PrimaryKeyViolation(DaoError):
    code = PRIMARY_KEY_VIOLATION

    def __init__(self, pk: Mapping[str, Any]) -> None:
        super().__init__(f"primary key violation on key '{pretty_key(pk)}'", dict(pk))


class ForeignKeyViolation(DaoError):
    code = FOREIGN_KEY_VIOLATION

    @classmethod
    def invalid_reference(cls, fk: Mapping[str, Any], field: str,
                          parent: str) -> "ForeignKeyViolation":
        msg = (f"the foreign key '{pretty_key(fk)}' does not reference "
               f"an existing '{parent}' entity.")
        return cls(msg, {field: dict(fk)})

    @classmethod
    def restricted(cls, parent: str, child: str) -> "ForeignKeyViolation":
        msg = f"an existing '{child}' entity references this '{parent}' entity"
        return cls(msg, {"@referenced_by": child})


class UniqueViolation(DaoError):
    code = UNIQUE_VIOLATION

    def __init__(self, key: Mapping[str, Any]) -> None:
        super().__init__(f"UNIQUE violation detected on '{pretty_key(key)}'", dict(key))


class NotFound(DaoError):
    code = NOT_FOUND

    def __init__(self, key: Mapping[str, Any], by_primary_key: bool = True) -> None:
        if by_primary_key:
            msg = f"could not find the entity with primary key '{pretty_key(key)}'"
        else:
            msg = f"could not find the entity with '{pretty_key(key)}'"
        super().__init__(msg, dict(key))


class InvalidOffset(DaoError):
    code = INVALID_OFFSET

    def __init__(self, offset: str, err: str) -> None:
        super().__init__(f"'{offset}' is not a valid offset: {err}")


class DatabaseError(DaoError):
    code = DATABASE_ERROR


class InvalidSize(DaoError):
    code = INVALID_SIZE


class InvalidUnique(DaoError):
    code = INVALID_UNIQUE

    def __init__(self, field: str, err: str) -> None:
        super().__init__(err, None, NAMES[INVALID_UNIQUE] % field)


class InvalidOptions(DaoError):
    code = INVALID_OPTIONS
    fields_key = "options"

    def __init__(self, options: Mapping[str, Any]) -> None:
        buf = [f"{k}: {options[k]}" for k in sorted(options)]
        if len(buf) == 1:
            message = f"invalid option ({buf[0]})"
        else:
            message = f"{len(buf)} option violations ({'; '.join(buf)})"
        super().__init__(message, dict(options))


class OperationUnsupported(DaoError):
    code = OPERATION_UNSUPPORTED


class ForeignKeysUnresolved(DaoError):
    code = FOREIGN_KEYS_UNRESOLVED

    def __init__(self, fields: Mapping[str, Mapping[str, str]]) -> None:
        buf = []
        for name in sorted(fields):
            for sub in sorted(fields[name]):
                buf.append(f"{name}.{sub}: {fields[name][sub]}")
        if len(buf) == 1:
            message = f"foreign key unresolved ({buf[0]})"
        else:
            message = f"{len(buf)} foreign keys unresolved ({'; '.join(buf)})"
        super().__init__(message, {k: dict(v) for k, v in fields.items()})


class ReferencedByOthers(DaoError):
    code = REFERENCED_BY_OTHERS
