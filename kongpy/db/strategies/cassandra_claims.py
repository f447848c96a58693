"""Uniqueness on Cassandra: lookup tables claimed by lightweight transactions.

Every unique column of a table gets ``<table>_by_<column> (value PRIMARY KEY,
id)``. A write claims each new value with ``INSERT … IF NOT EXISTS`` before
its row is queued; a plain read-then-write would let two Admin API calls on
two nodes both see "free" and both store the same name. A new row's primary
key is reserved the same way, by a *placeholder*: the row with nothing but its
key, ``IF NOT EXISTS``, expiring after PLACEHOLDER_TTL_S unless the unit's
batch writes the row over it. Readers skip placeholders (no ``entity``).

A claim whose holder is gone would block its value for good, so a claim is
taken over (by compare-and-set) when its holder's row has expired, or when
the claim is older than STALE_CLAIM_S and the holder has no row or a row
holding another value (a release lost after a rename). A placeholder means a
write under way: its claims are never taken over.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable, Mapping

from kongpy.db.strategies.base import Conflict, TableDef
from kongpy.db.strategies.cassandra_unit import PLACEHOLDER_TTL_S, STALE_CLAIM_S, WriteUnit
from kongpy.db.strategies.base import ident as _ident


def text(value: Any) -> Any:
    """Unique and key columns are text: every value compares as its JSON form."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def lookup(table: TableDef, column: str) -> str:
    return f"{table.name}_by_{column}"


class CassandraClaims:
    """Mixed into the Cassandra strategy; uses its ``cql`` and ``t`` and the
    write unit's ``_unit`` (cassandra_unit.CassandraUnits)."""

    cql: Any
    _unit: Callable[[], WriteUnit]

    def t(self, name: str) -> str:  # pragma: no cover - provided by the strategy
        raise NotImplementedError

    def _place(self, table: TableDef, pk: str) -> None:
        """Reserves ``pk`` for a new row; Conflict when a row (or a write) has it."""
        unit = self._unit()
        if unit.has_placeholder(table, pk):
            return
        rs = self.cql.run(f"INSERT INTO {self.t(table.name)} ({_ident(table.primary_key)}) "
                          "VALUES (?) IF NOT EXISTS USING TTL ?", (pk, PLACEHOLDER_TTL_S))
        if not rs.was_applied:
            raise Conflict(table.primary_key)
        unit.placed(table, pk)

    def _unplace(self, table: TableDef, pk: str) -> None:
        # Conditional: never removes a row that a batch did write after all.
        self.cql.run(f"DELETE FROM {self.t(table.name)} WHERE {_ident(table.primary_key)} = ? "
                     "IF entity = ?", (pk, None))

    def _claim(self, table: TableDef, col: str, value: str, pk: str, ttl: int) -> bool:
        """Claims ``value`` for ``pk``: True when newly claimed, False when already ours."""
        name = self.t(lookup(table, col))
        rs = self.cql.run(f"INSERT INTO {name} (value, id) VALUES (?, ?) IF NOT EXISTS "
                          "USING TTL ?", (value, pk, ttl))
        if rs.was_applied:
            self._unit().claimed(table, col, value, pk)
            return True
        holder = rs.one()["id"]
        if holder == pk:
            if ttl:
                self.cql.run(f"UPDATE {name} USING TTL ? SET id = ? WHERE value = ? IF id = ?",
                             (ttl, pk, value, pk))
            return False
        if self._claimable(table, col, value, holder):
            rs = self.cql.run(f"UPDATE {name} USING TTL ? SET id = ? WHERE value = ? "
                              "IF id = ?", (ttl, pk, value, holder))
            if rs.was_applied:
                self._unit().claimed(table, col, value, pk)
                return True
        raise Conflict(col)

    def _claimable(self, table: TableDef, col: str, value: str, holder: str) -> bool:
        row = self.cql.run(f"SELECT entity FROM {self.t(table.name)} "
                           f"WHERE {_ident(table.primary_key)} = ?", (holder,)).one()
        if row is not None and row["entity"] is None:
            return False  # a placeholder: the holder's insert is under way
        stored = json.loads(row["entity"]) if row is not None else None
        expire_at = (stored or {}).get("expire_at") if table.ttl else None
        if expire_at is not None and expire_at <= time.time():
            return True
        if not self._stale(lookup(table, col), value, holder):
            return False
        return stored is None or text(stored.get(col)) != value

    def _stale(self, name: str, value: str, holder: str) -> bool:
        row = self.cql.run(f"SELECT id, WRITETIME(id) AS written FROM {self.t(name)} "
                           "WHERE value = ?", (value,)).one()
        if row is None or row["id"] != holder or row["written"] is None:
            return False
        return time.time() - row["written"] / 1e6 > STALE_CLAIM_S

    def _release(self, table: TableDef, col: str, value: str, pk: str) -> None:
        self.cql.run(f"DELETE FROM {self.t(lookup(table, col))} WHERE value = ? IF id = ?",
                     (value, pk))

    def _claim_all(self, table: TableDef, row: Mapping[str, Any], pk: str, ttl: int,
                   skip: Mapping[str, Any]) -> None:
        claimed: list[tuple[str, str]] = []
        try:
            for col in table.unique:
                value = text(row.get(col))
                if value is None or (skip.get(col) == value and not ttl):
                    continue
                if self._claim(table, col, value, pk, ttl):
                    claimed.append((col, value))
        except Conflict:
            self._release_all(table, claimed, pk)
            raise

    def _release_all(self, table: TableDef, claims: Iterable[tuple[str, str]], pk: str) -> None:
        unit = self._unit()
        for col, value in claims:
            self._release(table, col, value, pk)
            unit.released(table, col, value, pk)
