"""A declarative document checked and flattened into entities, as Kong does.

Nested entities are hoisted (their parent's foreign key implied), ids are
given to entities declared without one (kongpy/declarative/ids.py),
top-level foreign keys (a parent's id or endpoint key) are resolved within
the document, and every entity is validated with its datastore schema.
Checks run in Kong's order, each stage only when the one before passed:
the document and its entities' schemas, then references and duplicate keys
or ids, then the other unique fields.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kongpy.declarative import ids
from kongpy.declarative.catalog import Catalog
from kongpy.declarative.errors import DeclarativeError, ErrorTree
from kongpy.declarative.load import FORMAT_VERSIONS, migrate
from kongpy.errors import KongpyError, SchemaViolation
from kongpy.schemas.typedefs import is_uuid

META = ("_comment", "_ignore")
# A reference that names nothing: validation of the rest goes on meanwhile.
_NIL_ID = "00000000-0000-0000-0000-000000000000"


@dataclass
class Entry:
    table: str
    input: dict          # as declared, without nested children and meta keys
    data: dict           # what is written: id set, foreign keys as {"id": ...}
    path: tuple          # where its errors go: ("services", 0, "routes", 1)
    nested_fk: str | None = None
    data_out: dict = field(default_factory=dict)
    random_id: bool = False  # no id given and none derivable (ids.py)


@dataclass
class Config:
    format_version: str
    transform: bool
    entries: list[Entry]

    def by_table(self) -> dict[str, list[Entry]]:
        out: dict[str, list[Entry]] = {}
        for entry in self.entries:
            out.setdefault(entry.table, []).append(entry)
        return out


def flatten(doc: Any, catalog: Catalog) -> Config:
    """The document's entities, in dependency order; DeclarativeError otherwise."""
    if not isinstance(doc, dict):
        raise DeclarativeError.parse("expected an object")
    errors = ErrorTree()
    # Kong validates the top-level keys and the entities in one pass: an
    # unknown top-level key is reported together with the entities' errors.
    _check_top(doc, catalog, errors)
    doc = migrate(doc)
    entries: list[Entry] = []
    for table in catalog.names():
        if table in doc:
            _collect(catalog, table, doc[table], (table,), None, entries, errors)
    index = _Index(catalog, entries, errors)
    _resolve(catalog, entries, index)
    _validate(catalog, entries, errors)
    if errors:
        raise DeclarativeError(errors, entries)
    index.check_references(entries)
    if errors:
        raise DeclarativeError(errors, entries)
    _check_uniques(catalog, entries, errors)
    if errors:
        raise DeclarativeError(errors, entries)
    order = {name: i for i, name in enumerate(catalog.names())}
    entries.sort(key=lambda e: order[e.table])
    return Config(doc["_format_version"], doc.get("_transform", True) is not False, entries)


def _check_top(doc: dict, catalog: Catalog, errors: ErrorTree) -> None:
    version = doc.get("_format_version")
    if version is None:
        errors.add(("_format_version",), "required field missing")
    elif not isinstance(version, str):
        errors.add(("_format_version",), "expected a string")
    elif version not in FORMAT_VERSIONS:
        errors.add(("_format_version",), "expected one of: " + ", ".join(FORMAT_VERSIONS))
    if "_transform" in doc and not isinstance(doc["_transform"], bool):
        errors.add(("_transform",), "expected a boolean")
    workspace = doc.get("_workspace")
    if workspace is not None and workspace != "default":
        # kongpy has the default workspace only: another one is refused, not ignored.
        errors.add(("_workspace",), "only the 'default' workspace exists")
    known = set(catalog.names()) | set(META) | {"_format_version", "_transform", "_workspace"}
    for key in doc:
        if key not in known:
            errors.add((key,), "unknown field")


def _collect(catalog: Catalog, table: str, items: Any, path: tuple,
             parent: Entry | None, entries: list[Entry], errors: ErrorTree) -> None:
    if not isinstance(items, list):
        errors.add(path, "expected an array")
        return
    schema = catalog.schemas[table]
    fields = schema.field_map()
    children = catalog.children[table]
    fk = catalog.children[parent.table][table] if parent is not None else None
    for i, item in enumerate(items):
        where = path + (i,)
        if not isinstance(item, dict):
            errors.add(where, "expected a record")
            continue
        own = {k: v for k, v in item.items() if k not in META
               and not (k in children and k not in fields)}
        nested = {k: v for k, v in item.items() if k in children and k not in fields}
        data = dict(own)
        if parent is not None:
            given = own.get(fk)
            if given is not None and not _names(catalog, parent, given):
                errors.add(where + (fk,), "value must be null")
            data[fk] = {"id": parent.data["id"]}
            own.pop(fk, None)
        random_id = False
        if data.get("id") is None:
            data["id"], random_id = ids.derive(
                catalog, table, own, parent.data["id"] if parent is not None else None, fk)
        entry = Entry(table, own, data, where, fk, random_id=random_id)
        entries.append(entry)
        if nested:
            for child in catalog.names():
                if child in nested:
                    _collect(catalog, child, nested[child], where + (child,), entry,
                             entries, errors)


def _names(catalog: Catalog, parent: Entry, value: Any) -> bool:
    """Whether a foreign key repeated inside a nested entity names its parent."""
    if isinstance(value, dict):
        value = value.get("id")
    ekey = catalog.schemas[parent.table].endpoint_key
    return value == parent.data["id"] or (ekey is not None and value == parent.input.get(ekey))


class _Index:
    """Entities by id and by (globally unique) endpoint key, per table."""

    def __init__(self, catalog: Catalog, entries: list[Entry], errors: ErrorTree) -> None:
        self.catalog, self.errors = catalog, errors
        self.by_id: dict[str, dict[str, Entry]] = {}
        self.by_key: dict[str, dict[Any, Entry]] = {}
        self.duplicate: set[int] = set()
        self._pending: list[tuple[tuple, str]] = []
        for entry in entries:
            self._add(entry)

    def _add(self, entry: Entry) -> None:
        schema = self.catalog.schemas[entry.table]
        ekey = schema.endpoint_key
        if ekey and ekey in schema.unique_fields:
            key = entry.input.get(ekey)
            if key is not None and _hashable(key):
                keys = self.by_key.setdefault(entry.table, {})
                if key in keys:
                    self.duplicate.add(id(entry))
                    self.later(entry.path, _unique(entry.table, ekey, key))
                    return
                keys[key] = entry
        pk = entry.data["id"]
        if not _hashable(pk):
            return
        by_id = self.by_id.setdefault(entry.table, {})
        if pk in by_id:
            self.later(entry.path, _unique(entry.table, "primary key", pk))
        else:
            by_id[pk] = entry

    def later(self, path: tuple, message: str) -> None:
        """Kong reports these only once every entity passed its schema."""
        self._pending.append((path, message))

    def find(self, table: str, value: Any) -> Entry | None:
        if not _hashable(value):
            return None
        return self.by_key.get(table, {}).get(value) or self.by_id.get(table, {}).get(value)

    def check_references(self, entries: list[Entry]) -> None:
        for path, message in self._pending:
            self.errors.add(path, message)
        for entry in entries:
            schema = self.catalog.schemas[entry.table]
            for name, fdef in schema.foreign_fields().items():
                value = entry.input.get(name)
                if name == entry.nested_fk or value is None:
                    continue
                if _reference(self, fdef.reference, value) is None:
                    shown = value if isinstance(value, str) else \
                        json.dumps(value, separators=(",", ":"))
                    self.errors.add(_at(self.catalog, entry),
                                    f"invalid reference '{name}: {shown}' "
                                    f"(no such entry in '{fdef.reference}')", many=True)


def _id_record(value: Any) -> str | None:
    """The id of a foreign key given as Kong's record form, ``{"id": "..."}``."""
    rid = value.get("id") if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(rid, str) and is_uuid(rid):
        return rid
    return None


def _reference(index: _Index, table: str, value: Any) -> Entry | None:
    """The entry a top-level foreign key names: a string (id or endpoint
    key), or the record form, by id alone."""
    rid = _id_record(value)
    if rid is not None:
        return index.by_id.get(table, {}).get(rid)
    return index.find(table, value)


def _resolve(catalog: Catalog, entries: list[Entry], index: _Index) -> None:
    """Top-level foreign keys (a string: id or endpoint key; or ``{"id": ...}``)
    as ``{"id": ...}``."""
    for entry in entries:
        for name, fdef in catalog.schemas[entry.table].foreign_fields().items():
            value = entry.input.get(name)
            if name == entry.nested_fk or value is None or not (
                    isinstance(value, str) or _id_record(value) is not None):
                continue
            found = _reference(index, fdef.reference, value)
            entry.data[name] = {"id": found.data["id"] if found else _NIL_ID}


def _validate(catalog: Catalog, entries: list[Entry], errors: ErrorTree) -> None:
    """Every entry through its schema, a table's entries in one batch (a
    schema that validates in the Lua helper does it in a few round trips);
    errors are reported in the document's order."""
    results: dict[int, Any] = {}
    by_table: dict[str, list[int]] = {}
    for at, entry in enumerate(entries):
        schema = catalog.schemas[entry.table]
        for name in schema.foreign_fields():
            value = entry.input.get(name)
            if name != entry.nested_fk and value is not None and not isinstance(value, str) \
                    and _id_record(value) is None:
                results[at] = "expected a string", name
                break
        else:
            by_table.setdefault(entry.table, []).append(at)
    for table, group in by_table.items():
        answers = catalog.schemas[table].validate_many([entries[at].data for at in group])
        results.update(zip(group, answers))
    for at, entry in enumerate(entries):
        result = results[at]
        if isinstance(result, tuple):
            errors.add(entry.path + (result[1],), result[0])
        elif isinstance(result, SchemaViolation):
            errors.merge(entry.path, result.fields)
        elif isinstance(result, KongpyError):
            errors.add(entry.path, result.message)
        else:
            entry.data_out = result


def _check_uniques(catalog: Catalog, entries: list[Entry], errors: ErrorTree) -> None:
    seen: dict[tuple[str, str], set] = {}
    for entry in entries:
        schema = catalog.schemas[entry.table]
        for name in schema.unique_fields:
            if name == schema.endpoint_key:
                continue
            value = entry.data_out.get(name, entry.input.get(name))
            if value is None or not _hashable(value):
                continue
            values = seen.setdefault((entry.table, name), set())
            if value in values:
                errors.add((entry.table, _key_of(schema, entry)),
                           _unique(entry.table, name, value))
            values.add(value)


def _at(catalog: Catalog, entry: Entry) -> tuple:
    """Where Kong reports a bad reference: under the table, by endpoint key or id."""
    return (entry.table, _key_of(catalog.schemas[entry.table], entry))


def _key_of(schema: Any, entry: Entry) -> str:
    ekey = schema.endpoint_key
    if ekey and ekey in schema.unique_fields and isinstance(entry.input.get(ekey), str):
        return entry.input[ekey]
    return str(entry.data["id"])


def _unique(table: str, name: str, value: Any) -> str:
    return f"uniqueness violation: '{table}' entity with {name} set to '{value}' already declared"


def _hashable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))
