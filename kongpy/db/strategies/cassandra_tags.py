"""The tag index on Cassandra, and listing entities filtered by tags.

``tags`` is partitioned by tag (one partition read answers "which entities
carry tag x"); ``tags_by_entity`` is its mirror by entity, so a tag update
knows which rows to remove without a scan. Both change in one logged batch.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from cassandra.query import BatchStatement

from kongpy.db.strategies.base import TableDef


class CassandraTags:
    """Mixed into the Cassandra strategy (uses its ``cql``, ``t`` and ``select``)."""

    cql: Any

    def t(self, name: str) -> str:  # pragma: no cover - provided by the strategy
        raise NotImplementedError

    def select(self, table: TableDef, pk: str) -> dict | None:  # pragma: no cover
        raise NotImplementedError

    def create_tag_tables(self) -> None:
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('tags')} (tag text, "
                     "entity_name text, entity_id text, PRIMARY KEY (tag, entity_name, entity_id))")
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self.t('tags_by_entity')} (entity_name text, "
                     "entity_id text, tag text, PRIMARY KEY ((entity_name, entity_id), tag))")

    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(tags))
        rows = self.cql.run(f"SELECT tag FROM {self.t('tags_by_entity')} "
                            "WHERE entity_name = ? AND entity_id = ?", (entity_name, entity_id))
        old = {r["tag"] for r in rows}
        if old == set(wanted):
            return
        batch = BatchStatement()
        for tag in old - set(wanted):
            batch.add(self.cql.prepare(f"DELETE FROM {self.t('tags')} WHERE tag = ? AND "
                                       "entity_name = ? AND entity_id = ?"),
                      (tag, entity_name, entity_id))
            batch.add(self.cql.prepare(f"DELETE FROM {self.t('tags_by_entity')} WHERE "
                                       "entity_name = ? AND entity_id = ? AND tag = ?"),
                      (entity_name, entity_id, tag))
        for tag in wanted:
            batch.add(self.cql.prepare(f"INSERT INTO {self.t('tags')} (tag, entity_name, "
                                       "entity_id) VALUES (?, ?, ?)"),
                      (tag, entity_name, entity_id))
            batch.add(self.cql.prepare(f"INSERT INTO {self.t('tags_by_entity')} (entity_name, "
                                       "entity_id, tag) VALUES (?, ?, ?)"),
                      (entity_name, entity_id, tag))
        session = self.cql.session()
        self.cql._guard(lambda: session.execute(batch))

    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        # Partitions come in token order, not tag order: sort here. The tag
        # index is as large as the configuration, which fits in memory.
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
