"""The DAO: one per entity, the same for every datastore.

Validation, defaults, timestamps, foreign-key checks (restrict / cascade),
uniqueness errors, the tag index, page tokens and cluster events live here;
the strategy only stores rows. Every write runs in one ``transaction()`` of
the strategy together with its cluster event, whose number is the
configuration version. What that makes atomic differs per datastore:

- SQLite, PostgreSQL: a real transaction. The rows, tags and event of a
  write, a whole cascade, and any writes grouped by an outer
  ``transaction()`` commit together or not at all.
- Cassandra: a write unit (kongpy/db/strategies/cassandra_unit.py). Each
  entity change (its row, its tag index rows, its event) is one logged
  batch: all of it lands or none. The unit's lightweight transactions
  (unique claims, compare-and-set) run before the batch, the version is
  given after it; a crash in either window heals by itself (claims are taken
  over, unpublished events are published by any node's poll). A change that
  fails before its batch is sent stores nothing. Several changes in one
  ``transaction()`` (a cascade, a nested PUT) are sent in order, one batch
  each, before any read of the unit, so reads see them: each change is
  atomic, the group is not. A cascade cut short leaves the children it
  reached deleted (re-run the delete).
"""
from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from kongpy.db import foreign, paging, rows as rowlib
from kongpy.db.entities import CACHE_KEY, table_for
from kongpy.db.strategies.base import BadCursor, Conflict
from kongpy.errors import (ForeignKeyViolation, InvalidOffset, InvalidOptions, InvalidUnique,
                           NotFound, OperationUnsupported, PrimaryKeyViolation,
                           SchemaViolation, UniqueViolation)
from kongpy.schemas.base import EntitySchema
from kongpy.schemas.fields import Foreign, Record
from kongpy.schemas.typedefs import is_uuid

if TYPE_CHECKING:
    from kongpy.db import DB

EVENT_CHANNEL = "invalidations"


class DAO:
    def __init__(self, db: "DB", schema: type[EntitySchema]) -> None:
        self.db = db
        self.schema = schema
        self.name = schema.entity_name
        self.table = table_for(schema)

    @property
    def _strategy(self):  # noqa: ANN202 - the strategy type is internal
        return self.db.strategy

    # -- reads ---------------------------------------------------------------------

    def _out(self, row: Mapping[str, Any] | None) -> dict | None:
        return rowlib.to_output(self.schema, row, time.time())

    def select(self, pk: str) -> dict | None:
        if not isinstance(pk, str) or not is_uuid(pk):
            return None
        return self._out(self._strategy.select(self.table, pk))

    def select_by(self, field: str, value: Any) -> dict | None:
        return self._out(self._strategy.select_by(self.table, field, value))

    def select_by_key(self, key: str, within: Mapping[str, Any] | None = None) -> dict | None:
        """By id when ``key`` is a UUID, otherwise by the endpoint key.

        An endpoint key that is unique only together with a parent (acls:
        ``group`` within a consumer) needs ``within``, e.g. ``{"consumer": {"id": c}}``.
        """
        if is_uuid(key):
            return self.select(key)
        ekey = self.schema.endpoint_key
        if not ekey:
            return None
        key = self.schema.key_for(key)
        if ekey in self.schema.unique_fields:
            self._check_unique_value(ekey, key)
            return self.select_by(ekey, key)
        if ekey in self.schema.cache_key and within is not None:
            data = dict(within)
            data[ekey] = key
            return self.select_by(CACHE_KEY, rowlib.cache_key(self.schema, data))
        return None

    def _check_unique_value(self, field: str, value: str) -> None:
        """As Kong's DAO, a unique field looked up (selected, updated,
        upserted, deleted) by a value its own schema refuses is an error
        (``invalid unique <field>``), not a missing entity."""
        errors = self.schema.partial_errors({field: value})
        err = errors.get(field)
        if isinstance(err, list):
            err = err[0] if err else None
        if isinstance(err, str):
            raise InvalidUnique(field, err)

    def page(self, size: Any = None, offset: str | None = None, tags: Any = None,
             tags_any: bool = False, **fk: str) -> tuple[list[dict], str | None]:
        """One page ordered by id; returns (rows, next offset token or None)."""
        size = paging.check_size(size)
        tag_list = self._tag_filter(tags)
        after = paging.decode_offset(offset)[0] if offset else None
        where = self._where(fk)
        out: list[dict] = []
        # Expired ttl rows stay stored until removed (SQL) or until their
        # native TTL passes (Cassandra, up to a second later): they are cut
        # out here, so ask for what is still missing until the page is full
        # or the rows run out. Each batch ends exactly at its last row, so
        # the cursor (the last id, or Cassandra's paging state) never skips one.
        while True:
            try:
                rows, after = self._strategy.page(self.table, size - len(out), after, where,
                                                  tag_list, tags_any)
            except BadCursor:
                raise InvalidOffset(offset or "", "bad paging state") from None
            now = time.time()
            out += [r for r in (rowlib.to_output(self.schema, row, now) for row in rows)
                    if r is not None]
            if len(out) >= size or after is None:
                break
        # The strategy's own cursor inside Kong's opaque token.
        token = paging.encode_offset([after]) if after is not None else None
        return out, token

    def select_with_expiry(self, pk: str) -> dict | None:
        """One visible row as :meth:`each_with_expiry` yields it."""
        row = self._strategy.select(self.table, pk) if is_uuid(pk) else None
        out = rowlib.to_output(self.schema, row, time.time()) if row else None
        if out is not None and row.get(rowlib.EXPIRE_AT) is not None:
            out["expires_at"] = row[rowlib.EXPIRE_AT]
        return out

    def each_with_expiry(self, page_size: int = paging.MAX_PAGE_SIZE) -> Iterator[dict]:
        """Every visible row; ttl rows also carry ``expires_at`` (epoch seconds)."""
        after = None
        while True:
            rows, after = self._strategy.page(self.table, page_size, after, {}, None, False)
            now = time.time()
            for row in rows:
                out = rowlib.to_output(self.schema, row, now)
                if out is not None:
                    if row.get(rowlib.EXPIRE_AT) is not None:
                        out["expires_at"] = row[rowlib.EXPIRE_AT]
                    yield out
            if after is None:
                return

    def each(self, page_size: int = paging.MAX_PAGE_SIZE, **fk: str) -> Iterator[dict]:
        offset = None
        while True:
            rows, offset = self.page(page_size, offset, **fk)
            yield from rows
            if offset is None:
                return

    def count(self, **fk: str) -> int:
        (field, value), = fk.items()
        return self._strategy.count_by(self.table, self.table.foreign[field], value)

    def _tag_filter(self, tags: Any) -> list[str] | None:
        if tags is None:
            return None
        if not self.schema.has_tags():
            raise InvalidOptions({"tags": f"cannot be used with '{self.name}'"})
        if isinstance(tags, str):
            tags = [tags]
        paging.check_tags(list(tags))
        return list(tags)

    def _where(self, fk: Mapping[str, str]) -> dict:
        where = {}
        for field, value in fk.items():
            if field not in self.table.foreign:
                raise InvalidOptions({field: "unknown foreign key"})
            where[self.table.foreign[field]] = value
        return where

    # -- writes ---------------------------------------------------------------------

    def insert(self, entity: Mapping[str, Any]) -> dict:
        self.check_writable("create")
        data = self.schema.validate(self._resolve_foreign(entity))
        data = self.schema.on_write(data, entity if isinstance(entity, Mapping) else {})
        now = self.schema.now()
        data["id"] = data.get("id") or str(uuid.uuid4())
        data["created_at"] = data.get("created_at") or now
        data["updated_at"] = now
        with self._strategy.transaction():
            self._check_foreign(data)
            self._store(data, None)
            self._event("create", data)
        return self.schema.to_output(data)

    def update(self, key: str, patch: Mapping[str, Any]) -> dict:
        """PATCH: merge into the stored entity, validate the whole, store."""
        self.check_writable("update", key)
        _must_be_record(patch)
        with self._strategy.transaction():
            current = self.schema.stored(self._must_find(key))
            merged = _merge(self.schema, self.schema.update_base(current, patch),
                            self._resolve_foreign(patch))
            merged["id"] = current["id"]
            data = self.schema.validate_update(merged, patch, current)
            data = self.schema.on_write(data, patch if isinstance(patch, Mapping) else {})
            # as Kong's DAO, an update may set created_at (oauth2 renews a
            # token's by its reuse_refresh_token); otherwise it is kept
            given = patch.get("created_at") if isinstance(patch, Mapping) else None
            data["created_at"] = data.get("created_at") if given is not None \
                else current["created_at"]
            data["updated_at"] = max(self.schema.now(), current.get("updated_at") or 0)
            self._check_foreign(data)
            self._store(data, current)
            self._event("update", data)
        return self.schema.to_output(data)

    def upsert(self, key: str, entity: Mapping[str, Any], transform: bool = True,
               checked: Mapping[str, Any] | None = None) -> dict:
        """PUT: full replacement; ``key`` (id or endpoint key) wins over the body.

        ``transform=False`` stores values that are already in their stored
        form (a declarative file with ``_transform: false``, as exported):
        the write transformations (password hashing) do not run again.
        ``checked``: what this schema's validation made of ``entity`` already
        (a declarative load checks the whole document first); it is used
        instead of validating again.
        """
        self.check_writable("create or update", key)
        _must_be_record(entity)
        entity = dict(self._resolve_foreign(entity))
        if is_uuid(key):
            entity["id"] = key
        elif self.schema.endpoint_key:
            entity[self.schema.endpoint_key] = key
        with self._strategy.transaction():
            current = self.select_by_key(key, within=entity)
            if current is not None:
                entity["id"] = current["id"]
            if checked is None:
                data = self.schema.validate(entity)
            else:
                data = dict(checked)
                data["id"] = entity.get("id", data.get("id"))
            if transform:
                data = self.schema.on_write(data, entity)
            now = self.schema.now()
            data["id"] = data.get("id") or str(uuid.uuid4())
            data["created_at"] = (current or {}).get("created_at") or data.get("created_at") or now
            data["updated_at"] = now
            self._check_foreign(data)
            self._store(data, current)
            self._event("update" if current else "create", data)
        return self.schema.to_output(data)

    def compare_and_set(self, pk: str, field: str, expected: Any, value: Any) -> bool:
        """Stores ``value`` in ``field`` only while the stored row still holds
        ``expected`` there; False when it does not (or the row is gone).

        For values that are already in their stored form (a re-hashed password):
        no on_write hook runs. The write itself is conditional on the whole
        stored row being unchanged since it was read (a conditional UPDATE in
        SQL, a lightweight transaction in Cassandra), so a concurrent change,
        even one that commits between the read and the write, wins. Like every
        write it appends a cluster event.
        """
        fdef = self.schema.field_map().get(field)
        if fdef is None or field in self.table.unique or field in self.table.foreign \
                or field in self.schema.primary_key:
            raise InvalidOptions({field: "cannot be compared and set"})
        with self._strategy.transaction():
            row = self._strategy.select(self.table, pk) if is_uuid(pk) else None
            if row is None or row.get(field) != expected \
                    or rowlib.expired(row, time.time()):
                return False
            new = dict(row)
            new[field] = value
            new["updated_at"] = max(self.schema.now(), row.get("updated_at") or 0)
            if not self._strategy.update_if(self.table, pk, new, row):
                return False
            self._event("update", new)
        return True

    def delete(self, key: str, emptied: frozenset[str] = frozenset()) -> bool:
        """False when there was nothing to delete (the Admin API still answers 204).
        ``emptied``: tables known to hold no rows, whose on-delete rules need
        no look (a whole configuration removed children first)."""
        self.check_writable("remove", key)
        with self._strategy.transaction():
            current = self.select_by_key(key)
            if current is None:
                return False
            self.db.before_delete(self, current, emptied)
            self._strategy.delete(self.table, current["id"])
            if self.schema.has_tags():
                self._strategy.set_tags(self.name, current["id"], [])
            self._event("delete", current)
        return True

    def delete_expired(self, limit: int = 1000) -> int:
        """Removes stored rows whose ttl has run out (already invisible), as
        Kong's cleanup timer does: no cluster event, since no node serves
        them any longer (the data plane honours ``expires_at`` by itself).
        Returns how many were removed."""
        if not self.schema.uses_ttl or self.db.read_only:
            return 0
        ids = self._strategy.expired_ids(self.table, time.time(), limit)
        with self._strategy.transaction():
            for pk in ids:
                self._strategy.delete(self.table, pk)
                if self.schema.has_tags():
                    self._strategy.set_tags(self.name, pk, [])
        return len(ids)

    # -- helpers -------------------------------------------------------------------------

    def check_writable(self, operation: str, key: str | None = None) -> None:
        """Kong's refusal of entity writes on a DB-less node (405, code 12)."""
        if not self.db.read_only:
            return
        by = ""
        if key is not None and not is_uuid(key) and self.schema.endpoint_key:
            by = f" by '{self.schema.endpoint_key}'"
        raise OperationUnsupported(f"cannot {operation} '{self.name}' entities{by} "
                                   "when not using a database")

    def _must_find(self, key: str) -> dict:
        current = self.select_by_key(key)
        if current is None:
            if is_uuid(key) or not self.schema.endpoint_key:
                raise NotFound({"id": key})
            raise NotFound({self.schema.endpoint_key: key}, by_primary_key=False)
        return current

    def _store(self, data: dict, current: dict | None) -> None:
        row = rowlib.to_stored(self.schema, data, time.time())
        try:
            self._write(row, current)
        except Conflict as exc:
            if not self._purge_expired(exc.column, row.get(exc.column)):
                self._conflict(exc.column, data)
            try:
                self._write(row, current)
            except Conflict as again:
                self._conflict(again.column, data)
        if self.schema.has_tags():
            self._strategy.set_tags(self.name, data["id"], data.get("tags") or [])

    def _write(self, row: dict, current: dict | None) -> None:
        if current is None:
            self._strategy.insert(self.table, row)
        else:
            self._strategy.update(self.table, current["id"], row)

    def _purge_expired(self, column: str, value: Any) -> bool:
        """An expired ttl row still holds its unique values until removed."""
        if not self.schema.uses_ttl or column == self.table.primary_key:
            return False
        old = self._strategy.select_by(self.table, column, value)
        if old is None or not rowlib.expired(old, time.time()):
            return False
        self._strategy.delete(self.table, old[self.table.primary_key])
        return True

    def _conflict(self, column: str, data: Mapping[str, Any]) -> None:
        if column == self.table.primary_key:
            raise PrimaryKeyViolation({"id": data["id"]}) from None
        if column == CACHE_KEY:
            raise UniqueViolation(rowlib.cache_key_fields(self.schema, data)) from None
        raise UniqueViolation({column: data.get(column)}) from None

    def _event(self, op: str, data: Mapping[str, Any]) -> None:
        self.db.append_event(EVENT_CHANNEL, f"{self.name}:{op}:{data['id']}")

    def _resolve_foreign(self, entity: Mapping[str, Any]) -> Mapping[str, Any]:
        """Foreign keys as ``{"id": <uuid>}`` (kongpy/db/foreign.py)."""
        return foreign.resolve(self.db, self.schema, entity)

    def _check_foreign(self, data: Mapping[str, Any]) -> None:
        for field, fdef in self.schema.foreign_fields().items():
            ref = data.get(field)
            if not ref:
                continue
            parent = self.db.daos.get(fdef.reference)
            if parent is None or parent.select(ref["id"]) is None:
                raise ForeignKeyViolation.invalid_reference(
                    {"id": ref["id"]}, field, fdef.reference)


def _must_be_record(entity: Any) -> None:
    """What an update or an upsert is given (any JSON value) must be an object."""
    if not isinstance(entity, Mapping):
        raise SchemaViolation({"@entity": ["expected a record"]})


def _merge(schema: type[EntitySchema], current: Mapping[str, Any],
           patch: Mapping[str, Any]) -> dict:
    """Records merge key by key; arrays, sets, maps and foreign keys are replaced."""
    if not isinstance(patch, Mapping):
        return patch  # type: ignore[return-value] - validation reports the bad type
    fields = schema.field_map()
    out = dict(current)
    for key, value in patch.items():
        fdef, old = fields.get(key), out.get(key)
        if isinstance(fdef, Record) and not isinstance(fdef, Foreign) \
                and isinstance(value, Mapping) and isinstance(old, Mapping):
            out[key] = _merge_record(old, value)
        else:
            out[key] = value
    return out


def _merge_record(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict:
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge_record(out[key], value)
        else:
            out[key] = value
    return out
