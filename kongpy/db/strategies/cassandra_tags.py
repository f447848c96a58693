"""The tag index on Cassandra, and listing entities filtered by tags.

``tags`` is partitioned by tag (one partition read answers "which entities
carry tag x"); ``tags_by_entity`` is its mirror by entity, so a tag update
knows which rows to remove without a scan. Both change in the logged batch
of their entity's row (cassandra_unit.py).
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable, Mapping, Sequence

from kongpy.db.strategies.base import TableDef


# Each index table with its primary key columns, in order.
_INDEXES = (("tags", ("tag", "entity_name", "entity_id")),
            ("tags_by_entity", ("entity_name", "entity_id", "tag")))


class CassandraTags:
    """Mixed into the Cassandra strategy (uses its ``cql``, ``t``, ``select``, and write unit)."""

    cql: Any

    def t(self, name: str) -> str:  # pragma: no cover - provided by the strategy
        raise NotImplementedError

    def select(self, table: TableDef, pk: str) -> dict | None:  # pragma: no cover
        raise NotImplementedError

    # From the write unit (cassandra_unit.CassandraUnits).
    transaction: Callable[[], AbstractContextManager]
    _queue: Callable[[str, Sequence[Any]], None]
    _settle: Callable[[], None]

    def create_tag_tables(self) -> None:
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('tags')} (tag text, "
                     "entity_name text, entity_id text, PRIMARY KEY (tag, entity_name, entity_id))")
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('tags_by_entity')} (entity_name text, "
                     "entity_id text, tag text, PRIMARY KEY ((entity_name, entity_id), tag))")

    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(tags))
        self._settle()
        rows = self.cql.run(f"SELECT tag FROM {self.t('tags_by_entity')} "
                            "WHERE entity_name = ? AND entity_id = ?", (entity_name, entity_id))
        old = {r["tag"] for r in rows}
        if old == set(wanted):
            return
        # Queued in the write unit: the index changes in the batch of its row.
        with self.transaction():
            for tag in old - set(wanted):
                self._queue_tag(True, tag, entity_name, entity_id)
            for tag in wanted:
                self._queue_tag(False, tag, entity_name, entity_id)

    def _queue_tag(self, delete: bool, tag: str, entity_name: str, entity_id: str) -> None:
        """Adds or removes one tag in both index tables."""
        values = {"tag": tag, "entity_name": entity_name, "entity_id": entity_id}
        for table, cols in _INDEXES:
            params = tuple(values[c] for c in cols)
            if delete:
                cql = (f"DELETE FROM {self.t(table)} WHERE "
                       + " AND ".join(f"{c} = ?" for c in cols))
            else:
                cql = f"INSERT INTO {self.t(table)} ({', '.join(cols)}) VALUES (?, ?, ?)"
            self._queue(cql, params)

    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        # Partitions come in token order, not tag order: sort here. The tag
        # index is as large as the configuration, which fits in memory.
        self._settle()
        if tag is not None:
            rows = self.cql.run(f"SELECT tag, entity_name, entity_id FROM {self.t('tags')} "
                                "WHERE tag = ?", (tag,))
        else:
            rows = self.cql.run(f"SELECT tag, entity_name, entity_id FROM {self.t('tags')}")
        keys = sorted((r["tag"], r["entity_name"], r["entity_id"]) for r in rows)
        if after is not None:
            keys = [k for k in keys if k > tuple(after)]
        return [{"tag": k[0], "entity_name": k[1], "entity_id": k[2]} for k in keys[:size]]

    def _tagged_ids(self, entity_name: str, tags: list[str], any_of: bool) -> list[str]:
        found: set[str] | None = None
        for tag in tags:
            rows = self.cql.run(f"SELECT entity_id FROM {self.t('tags')} WHERE tag = ? "
                                "AND entity_name = ?", (tag, entity_name))
            ids = {r["entity_id"] for r in rows}
            found = ids if found is None else (found | ids if any_of else found & ids)
        return sorted(found or ())

    def page_tagged(self, table: TableDef, size: int, cursor: str | None,
                    where: Mapping[str, Any], tags: list[str],
                    any_of: bool) -> tuple[list[dict], str | None]:
        """Tag filters page by id (the cursor is the last id), as the SQL stores do."""
        rows: list[dict] = []
        for entity_id in self._tagged_ids(table.name, tags, any_of):
            if cursor is not None and entity_id <= cursor:
                continue
            row = self.select(table, entity_id)
            if row is None or not _matches(table, row, where):
                continue
            rows.append(row)
            if len(rows) > size:
                break
        if len(rows) <= size:
            return rows, None
        rows = rows[:size]
        return rows, rows[-1][table.primary_key]


def _matches(table: TableDef, row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    by_column = {col: name for name, col in table.foreign.items()}
    for col, value in where.items():
        ref = row.get(by_column.get(col, col))
        if (ref.get("id") if isinstance(ref, Mapping) else ref) != value:
            return False
    return True
