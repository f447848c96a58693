"""The entity schema base: metadata for the DAO, validation, output, description.

An entity schema is a marshmallow schema of Kong-typed fields plus class-level
metadata (primary key, endpoint key, unique fields, foreign keys) that the DAO
and the Admin API read. Validation always sees a complete entity: the DAO
merges PATCH bodies into the stored row first, as Kong validates the merged
result.
"""
from __future__ import annotations

import time
from typing import Any, Callable, ClassVar, Mapping, Sequence

from marshmallow import RAISE, Schema, ValidationError

from kongpy.errors import KongpyError, SchemaViolation
from kongpy.schemas import fields as f

Shorthand = Callable[[Any], dict]


class EntitySchema(Schema):
    """Base class of every entity schema."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": f.UNKNOWN, "type": "expected a record"}

    entity_name: ClassVar[str] = ""
    primary_key: ClassVar[tuple[str, ...]] = ("id",)
    endpoint_key: ClassVar[str | None] = None
    unique_fields: ClassVar[tuple[str, ...]] = ()
    # Composite uniqueness (Kong's ``cache_key``): stored as one unique column.
    cache_key: ClassVar[tuple[str, ...]] = ()
    # Kong's cache key when it is a single unique field (credentials: key,
    # username): what kong.db.<entity>:cache_key(row) builds on the data plane.
    kong_cache_key: ClassVar[tuple[str, ...]] = ()
    # The fields a composite unique violation reports (default: the cache key).
    cache_key_report: ClassVar[tuple[str, ...]] = ()
    # ``created_at``/``updated_at`` in whole seconds, or "ms" (Kong's
    # auto_timestamp_ms: fractional seconds with millisecond precision).
    timestamp_precision: ClassVar[str] = "s"
    # Rows may carry a ``ttl`` (seconds): expired rows are invisible.
    uses_ttl: ClassVar[bool] = False
    # Write-only input sugar expanded before validation (e.g. services.url).
    shorthands: ClassVar[dict[str, Shorthand]] = {}
    describe_checks: ClassVar[list] = []
    # The stored field the data plane may upgrade to a stronger hash (a
    # credential's password); see accepts_rehash.
    rehash_field: ClassVar[str | None] = None

    # -- metadata ------------------------------------------------------------------

    @classmethod
    def field_map(cls) -> dict[str, f.KongField]:
        return dict(cls._declared_fields)  # type: ignore[attr-defined]

    @classmethod
    def foreign_fields(cls) -> dict[str, f.Foreign]:
        found = cls.__dict__.get("_foreign_fields")
        if found is None:
            found = {n: fld for n, fld in cls.field_map().items() if isinstance(fld, f.Foreign)}
            cls._foreign_fields = found
        return dict(found)

    @classmethod
    def has_tags(cls) -> bool:
        return "tags" in cls.field_map()

    @classmethod
    def key_for(cls, key: str) -> str:
        """An endpoint key given in a URL, in the form it is stored."""
        return key

    @classmethod
    def now(cls) -> float:
        """A timestamp at this entity's precision."""
        now = time.time()
        return round(now, 3) if cls.timestamp_precision == "ms" else int(now)

    # -- validation ------------------------------------------------------------------

    @classmethod
    def instance(cls) -> "EntitySchema":
        """This class's one schema instance: building one copies every field,
        and loading keeps no state on it, so one serves every validation."""
        found = cls.__dict__.get("_instance")
        if found is None:
            found = cls()
            cls._instance = found
        return found

    @classmethod
    def validate(cls, raw: Any) -> dict:
        """Return the entity with defaults filled in, or raise SchemaViolation."""
        if not isinstance(raw, Mapping):
            raise SchemaViolation({"@entity": ["expected a record"]})
        raw = dict(raw)
        errors: dict[str, Any] = {}
        for name, expand in cls.shorthands.items():
            if name in raw:
                value = raw.pop(name)
                if value is None:
                    continue
                try:
                    raw.update(expand(value))
                except ValueError as exc:
                    errors[name] = str(exc)
        schema = cls.instance()
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            data = dict(exc.valid_data or {})
            errors.update(f.first_error(exc.messages))
        schema.check_entity(data, raw, errors)
        if errors:
            raise SchemaViolation(errors)
        return data

    @classmethod
    def validate_many(cls, raws: Sequence[Any]) -> list[dict | KongpyError]:
        """Each of ``raws`` as :meth:`validate` answers it: the entity, or the
        error it raises (schemas that validate elsewhere batch the work)."""
        out: list[dict | KongpyError] = []
        for raw in raws:
            try:
                out.append(cls.validate(raw))
            except KongpyError as exc:
                out.append(exc)
        return out

    @classmethod
    def update_base(cls, current: Mapping, patch: Mapping) -> Mapping:
        """What a PATCH is merged into: the stored entity, unless the patch
        speaks for some of its values in another form (see PluginSchema)."""
        return current

    @classmethod
    def validate_update(cls, merged: Any, patch: Any, current: Mapping) -> dict:
        """A PATCH: ``merged`` (the stored entity with ``patch`` applied) is
        validated whole; ``patch`` and ``current`` serve checks that depend on
        what the request changes (see LuaEntitySchema)."""
        return cls.validate(merged)

    @classmethod
    def partial_errors(cls, raw: Mapping) -> dict:
        """Kong's partial validation (``validate(value, false)``) of the fields
        ``raw`` has, as a foreign key given as an object gets it: unknown
        fields are refused, null is refused where the field is required, the
        others are checked on their own (entity checks do not run)."""
        fields = cls.field_map()
        errors: dict[str, Any] = {}
        for name, value in raw.items():
            fdef = fields.get(name)
            if fdef is None:
                errors[name] = f.UNKNOWN
            elif value is None:
                if fdef.kong_required:
                    errors[name] = f.REQUIRED
            else:
                try:
                    fdef.validate_value(value)
                except ValidationError as exc:
                    errors[name] = f.first_error(exc.messages)
        return errors

    def check_entity(self, data: dict, raw: Mapping, errors: dict) -> None:
        """Entity-level checks; add messages to ``errors`` (``@entity`` for the entity)."""

    @classmethod
    def on_write(cls, data: dict, supplied: Mapping) -> dict:
        """Transform a validated entity before it is stored (``supplied``: the input).

        Kong's write transformations (e.g. hashing a password) run only when
        their input fields were part of the request, hence ``supplied``.
        """
        return data

    @classmethod
    def accepts_rehash(cls, old: str, new: str) -> bool:
        """Whether the data plane may replace the stored ``old`` of ``rehash_field``
        with ``new`` (both already hashes: no on_write runs)."""
        return False

    # -- output and description ------------------------------------------------------

    @classmethod
    def to_output(cls, row: Mapping) -> dict:
        """Every field, unset ones as null, in declaration order."""
        return {name: row.get(name) for name in cls.field_map()}

    @classmethod
    def stored(cls, entity: Mapping) -> dict:
        """``entity`` (as :meth:`to_output` shows it) without what reads add:
        what an update merges into and what the data plane is sent."""
        return dict(entity)

    @classmethod
    def describe(cls) -> dict:
        return {
            "fields": [{name: fld.describe()} for name, fld in cls.field_map().items()],
            "entity_checks": list(cls.describe_checks),
        }


# -- entity-check helpers shared by entity schemas -------------------------------------

def entity_error(errors: dict, message: str) -> None:
    errors.setdefault("@entity", []).append(message)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def quoted(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def conditional_null(data: Mapping, errors: dict, if_field: str,
                     when: Callable[[Any], bool], then_field: str) -> None:
    """Kong's ``conditional`` check with ``then_match = { eq = null }``."""
    if if_field in errors or if_field not in data or then_field in errors:
        return
    if when(data[if_field]) and data.get(then_field) is not None:
        errors[then_field] = "value must be null"
        entity_error(errors, f"failed conditional validation given value of field '{if_field}'")
