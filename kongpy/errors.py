"""Every error kongpy raises on purpose: one hierarchy rooted at :class:`KongpyError`.

Errors are data. Datastore-level failures the Admin API can report are
``DaoError``s carrying Kong's ``code``/``name``/``message``/``fields``; the
others say what went wrong in their message. Nothing here knows HTTP or the
terminal: the Admin API edge (kongpy/admin/errors.py) maps each class to a
status once, and the CLI (kongpy/cli/_common.py ``Group``) prints any of them
as ``Error: <message>``. An exception class outside this hierarchy is
private to its module and never leaves it.

    KongpyError
    ├── ConfigError              a property or setting that cannot be honoured
    ├── DatastoreUnavailable     the datastore does not answer (Admin API: 503)
    │   ├── DatastoreBusy        no query slot / connection within its limits
    │   └── TokensUnavailable    no Admin API token set could be read yet
    ├── DaoError                 Kong's coded errors (schema, unique, not found…)
    ├── RequestError             an Admin API request refused before validation
    │   ├── InvalidBody, UnsupportedBody, BadBatch
    ├── TokenError               an Admin API token command refused
    ├── MigrationFailed          a migration step failed (the earlier ones stay)
    ├── RenderError              the prefix could not be rendered
    │   └── NginxTestError       ``nginx -t`` refused it
    ├── DataPlaneError           the local data plane did not answer as expected
    └── StoreSignal              strategy → DAO signals, never seen by users
        ├── Conflict, BadCursor
"""
from __future__ import annotations

import re

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
    """Root of every error kongpy raises on purpose; ``message`` is for humans."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class ConfigError(KongpyError):
    """A property (or another setting of the node) that cannot be honoured.

    ``prop`` names the property when there is one (keyword-only, so that the
    ``(name, message)`` order of ``invalid`` can never be confused with it).
    :meth:`invalid` gives the usual wording, ``invalid value for '<prop>': <why>``.
    """

    def __init__(self, message: str, *, prop: str | None = None) -> None:
        super().__init__(message)
        self.property = prop

    @classmethod
    def invalid(cls, prop: str, why: str) -> "ConfigError":
        return cls(f"invalid value for '{prop}': {why}", prop=prop)


class DatastoreUnavailable(KongpyError):
    """The datastore cannot be reached (the Admin API answers 503)."""

    def __init__(self, message: str = "datastore unavailable") -> None:
        super().__init__(message)


class DatastoreBusy(DatastoreUnavailable):
    """This process could not get a query slot or a connection within its limits
    (``pg_max_concurrent_queries``, ``pg_pool_size``, ``pg_backlog``)."""


class TokensUnavailable(DatastoreUnavailable):
    """No Admin API token set could be read yet, so no request can be checked."""

    def __init__(self) -> None:
        super().__init__("cannot check credentials while the datastore is unreachable")


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
    if isinstance(value, (Mapping, list)):
        return _block(value, "")
    return str(value)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _block(value: Any, indent: str) -> str:
    """A nested error the way Kong's messages print it: one entry per line,
    two spaces deeper per level; list holes named by their 1-based index."""
    if isinstance(value, Mapping):
        entries = [(k if _IDENTIFIER.match(str(k)) else f'["{k}"]', value[k])
                   for k in sorted(value, key=str)]
    elif isinstance(value, list):
        entries = []
        leading = True
        for index, item in enumerate(value, 1):
            if item is None:
                leading = False
            else:
                entries.append((None if leading else f"[{index}]", item))
    else:
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _pretty_value(value)
    if not entries:
        return "{}"
    inner = indent + "  "
    lines = [inner + ("" if key is None else f"{key} = ") + _block(item, inner)
             for key, item in entries]
    return "{\n" + ",\n".join(lines) + "\n" + indent + "}"


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


# -- requests the Admin API refuses before validation ---------------------------------------

class RequestError(KongpyError):
    """A request refused before the schemas see it."""


class InvalidBody(RequestError):
    """A body that does not parse as its content type says."""


class UnsupportedBody(RequestError):
    """A body of a content type the Admin API does not read."""


class BadBatch(RequestError):
    """A rate-limiting counter batch this node does not accept."""


# -- commands and the node ------------------------------------------------------------------

class TokenError(KongpyError):
    """A refused token command (duplicate or unknown name, bad name)."""


class MigrationFailed(KongpyError):
    """A step failed; the steps before it are recorded, ``up`` resumes at it."""

    def __init__(self, step: str, done: list[str], cause: BaseException) -> None:
        super().__init__(f"migration {step} failed: {cause}. Steps recorded before it: "
                         f"{', '.join(done) or 'none'}; fix the cause and run "
                         "'kongpy migrations up' to resume")
        self.step = step
        self.done = done


class RenderError(KongpyError):
    """The prefix could not be rendered."""


class NginxTestError(RenderError):
    """`nginx -t` refused the rendered configuration."""


class DataPlaneError(KongpyError):
    """The data plane could not be reached or answered something unexpected."""


# -- between a strategy and the DAO -----------------------------------------------------------

class StoreSignal(KongpyError):
    """What a strategy tells the DAO, which turns it into Kong's error (or recovers).

    Never meant to reach a user: should one escape, both edges treat it as any
    other unexpected error.
    """


class Conflict(StoreSignal):
    """A unique or primary-key constraint rejected a write."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class BadCursor(StoreSignal):
    """A page cursor this strategy cannot resume from (the DAO answers 400)."""
