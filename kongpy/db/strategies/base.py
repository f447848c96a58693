"""The strategy interface every datastore implements.

A strategy stores and fetches rows; it knows nothing about validation,
defaults, foreign-key rules or error bodies (that is the DAO's job). Rows go in
and come out as the entity's output dict. The interface is kept small so that
PostgreSQL and Cassandra strategies can implement it without surprises.
"""
from __future__ import annotations

import abc
import re
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

# The strategy's signals to the DAO live with every other error; strategies
# import them from here, beside the interface they belong to.
from kongpy.errors import BadCursor, Conflict

__all__ = ["BadCursor", "Conflict", "CounterDef", "Listener", "Strategy", "TableDef", "ident"]


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """A table or column name, double-quoted (CQL and SQL agree); anything but
    a plain identifier is refused, so a name can never carry a statement."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid identifier: {name!r}")
    return f'"{name}"'


@dataclass(frozen=True)
class TableDef:
    """What a strategy needs to know about an entity table."""

    name: str
    primary_key: str = "id"
    # Single-column unique constraints (composite ones come later as tuples).
    unique: tuple[str, ...] = ()
    # Foreign key field name -> stored column (``service`` -> ``service_id``).
    foreign: Mapping[str, str] = field(default_factory=dict)
    # Rows may expire (Kong's ``ttl = true`` entities, e.g. keyauth_credentials):
    # the DAO puts an ``expire_at`` epoch into such rows and hides expired ones;
    # a strategy with native expiry (Cassandra's TTL) also removes them itself.
    ttl: bool = False


@dataclass(frozen=True)
class CounterDef:
    """A table of integer counters (Kong's ``ratelimiting_metrics``).

    ``key`` names the text columns that together identify one counter; the
    counter itself is ``value``. Not an entity: no JSON, no events, no DAO.
    """

    name: str
    key: tuple[str, ...]


class Listener(abc.ABC):
    """A push channel for new cluster events (PostgreSQL LISTEN): pollable by select()."""

    @abc.abstractmethod
    def fileno(self) -> int: ...

    @abc.abstractmethod
    def drain(self) -> int:
        """Consumes what arrived; returns how many notifications."""

    @abc.abstractmethod
    def close(self) -> None: ...


class Strategy(abc.ABC):
    """Storage for entity rows, the tag index, cluster events and migration state."""

    name = "abstract"

    # -- lifecycle -------------------------------------------------------------------
    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager:
        """A write transaction; nested calls join the outer one. Leaving it by
        an exception stores nothing of it (on Cassandra: nothing it had not
        sent yet, see cassandra_unit.py)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def ping(self) -> bool: ...

    def describe(self) -> str:
        """Where the data lives, for messages (``postgres at 127.0.0.1:5432``)."""
        return self.name

    def listener(self) -> Listener | None:
        """A push channel for new events, or None when the datastore has none (poll)."""
        return None

    # -- schema ---------------------------------------------------------------------
    @abc.abstractmethod
    def create_table(self, table: TableDef) -> None: ...

    @abc.abstractmethod
    def create_core_tables(self) -> None:
        """Tags index, cluster events and migration bookkeeping."""

    @abc.abstractmethod
    def drop_everything(self) -> None: ...

    @abc.abstractmethod
    def truncate_everything(self) -> None:
        """Empties every table and restarts the event version at 0; keeps the schema."""

    # -- rows ------------------------------------------------------------------------
    @abc.abstractmethod
    def insert(self, table: TableDef, row: Mapping[str, Any]) -> None:
        """Raise :class:`Conflict` on a unique or primary key clash."""

    @abc.abstractmethod
    def update(self, table: TableDef, pk: str, row: Mapping[str, Any]) -> None:
        """Raise :class:`Conflict` on a unique clash."""

    @abc.abstractmethod
    def update_if(self, table: TableDef, pk: str, row: Mapping[str, Any],
                  expected: Mapping[str, Any]) -> bool:
        """Compare-and-set: replaces the row only while the stored one still equals
        ``expected`` (as :meth:`select` returned it); False otherwise. Unique
        values must be the same in both (no claims are taken or released)."""

    @abc.abstractmethod
    def delete(self, table: TableDef, pk: str) -> bool: ...

    @abc.abstractmethod
    def select(self, table: TableDef, pk: str) -> dict | None: ...

    @abc.abstractmethod
    def select_by(self, table: TableDef, column: str, value: Any) -> dict | None: ...

    @abc.abstractmethod
    def page(self, table: TableDef, size: int, cursor: str | None,
             where: Mapping[str, Any], tags: Iterable[str] | None = None,
             tags_any: bool = False) -> tuple[list[dict], str | None]:
        """At most ``size`` rows from ``cursor`` on, and the cursor of the next page.

        The cursor is the strategy's own string (the last primary key for SQL
        stores, a paging state for Cassandra); the DAO wraps it in Kong's
        opaque offset token. None means there is no next page. Raises
        :class:`BadCursor` for a cursor it cannot use.
        """

    @abc.abstractmethod
    def count_by(self, table: TableDef, column: str, value: Any) -> int: ...

    def expired_ids(self, table: TableDef, now: float, limit: int) -> list[str]:
        """Ids of rows of a ttl table whose ``expire_at`` has passed (at most
        ``limit``). A strategy with native expiry (Cassandra) has none to give."""
        return []

    # -- tags ------------------------------------------------------------------------
    @abc.abstractmethod
    def set_tags(self, entity_name: str, entity_id: str, tags: Iterable[str]) -> None: ...

    @abc.abstractmethod
    def page_tags(self, size: int, after: tuple[str, str, str] | None,
                  tag: str | None) -> list[dict]:
        """``{tag, entity_name, entity_id}`` rows ordered by (tag, entity_name, entity_id)."""

    # -- cluster events ----------------------------------------------------------------
    @abc.abstractmethod
    def append_event(self, channel: str, data: str, node_id: str | None,
                     at: float) -> int | None:
        """Appends a cluster event; returns its number (the new version), or
        None where the number is given only when the enclosing transaction
        ends (Cassandra)."""

    @abc.abstractmethod
    def latest_event(self) -> int: ...

    @abc.abstractmethod
    def events_since(self, after: int, limit: int = 1000) -> list[dict]: ...

    # -- migration bookkeeping -------------------------------------------------------------
    @abc.abstractmethod
    def meta_get(self, subsystem: str) -> dict | None: ...

    @abc.abstractmethod
    def meta_set(self, subsystem: str, executed: list[str], pending: list[str]) -> None: ...

    # -- counters --------------------------------------------------------------------------
    def create_counter_table(self, counter: CounterDef) -> None:
        raise NotImplementedError(f"{self.name} has no counter tables")

    def increment(self, counter: CounterDef, key: Mapping[str, Any], amount: int,
                  expire_at: int | None = None) -> int:
        """Adds ``amount`` to one counter (created at 0) in one atomic step and
        returns its new value. ``expire_at`` (epoch s) lets the store drop the row later."""
        raise NotImplementedError(f"{self.name} has no counter tables")
