"""What ``transaction()`` means on Cassandra: a write unit.

Cassandra has no transactions, but a LOGGED batch applies all of its
statements or none (its batchlog replays a batch whose coordinator died
midway). So inside a unit the plain writes of a change (the row, its tag
index rows) are not sent at once: they are queued with the change's *intent*
(its cluster event, waiting for a version number) and sent as one logged
batch. Three kinds of write cannot join that batch and run at once instead:

- lightweight transactions: unique claims, the placeholder that reserves a
  new row's primary key, compare-and-set (a batch with conditions must stay
  in one partition);
- the version itself: after the batch, one conditional batch on the
  ``cluster_events`` partition advances the version and writes the event
  rows (cassandra_events.py);
- claim releases, which must follow the batch (a row must never lose its
  claim while it stands).

Each window this leaves heals by itself: a claim or placeholder without its
row is taken over or expires (claims: STALE_CLAIM_S, placeholders:
PLACEHOLDER_TTL_S); a batch whose version was never published (its writer
died, or the version step failed) is published by any node's poll once its
intent is old enough (cassandra_events.py, about two minutes).

A unit that raises before its batch is sent sends nothing and gives back its
claims and placeholders, as a rollback would. Each change (closed by its
intent) is one batch; a unit holding several sends the completed ones in
order before any of its reads (so that it reads its own writes) and once
FLUSH_AT_BYTES are queued (a cascade of a thousand deletes is a thousand
small atomic batches, as Cassandra's batch size limits want). Batches sent
one after the other take their timestamps from the coordinator's clock: the
``Request…`` load-balancing policies (the default) keep one coordinator for
the whole unit, so a row written twice in a unit keeps its last value. A single change
larger than MAX_BATCH_BYTES is written statement by statement after its
intent, so a crash midway is still published.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterator, Sequence

from kongpy.errors import DatabaseError, DatastoreUnavailable

log = logging.getLogger(__name__)

# A placeholder row outlives the longest a live writer may take to send its
# batch (STALE_CLAIM_S, checked before sending) with a margin for the batch
# to land, so no claim of a write under way can be taken over.
PLACEHOLDER_TTL_S = 120
STALE_CLAIM_S = 60
# Cassandra warns about batches over 5 KiB and refuses those over 50 KiB.
FLUSH_AT_BYTES = 4096
MAX_BATCH_BYTES = 40_000
_STATEMENT_OVERHEAD = 32

Statement = tuple[str, tuple]


@dataclass
class Intent:
    """A cluster event waiting for its version (a ``cluster_changes`` row)."""

    channel: str
    data: str
    node_id: str | None
    at: float
    id: uuid.UUID = field(default_factory=uuid.uuid1)

    @property
    def minute(self) -> int:
        return int(self.at // 60)


@dataclass
class _Segment:
    """The queued writes of one change, closed by its intent."""

    statements: list[Statement] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    size: int = 0
    claims: list[tuple[Any, str, str, str]] = field(default_factory=list)
    placeholders: list[tuple[Any, str]] = field(default_factory=list)
    placeholder_since: float | None = None
    after: list[Callable[[], None]] = field(default_factory=list)


def _size(statement: Statement) -> int:
    return _STATEMENT_OVERHEAD + sum(len(v) if isinstance(v, str) else 8 for v in statement[1])


class WriteUnit:
    """The queue of one unit; the strategy sends it (see :func:`plan`)."""

    def __init__(self) -> None:
        self.segments: list[_Segment] = [_Segment()]
        # Intents whose batch was sent: published when the unit ends.
        self.sent: list[Intent] = []
        self.version: int | None = None

    @property
    def open(self) -> _Segment:
        return self.segments[-1]

    def queue(self, statement: Statement) -> None:
        seg = self.open
        seg.statements.append((statement[0], tuple(statement[1])))
        seg.size += _size(statement)

    def close(self, intent: Intent, statement: Statement) -> None:
        """Ends the open change with its intent (queued with it)."""
        seg = self.open
        seg.intents.append(intent)
        seg.statements.append(statement)
        seg.size += _size(statement)
        self.segments.append(_Segment())

    def claimed(self, table: Any, column: str, value: str, pk: str) -> None:
        self.open.claims.append((table, column, value, pk))

    def released(self, table: Any, column: str, value: str, pk: str) -> None:
        for seg in self.segments:
            if (table, column, value, pk) in seg.claims:
                seg.claims.remove((table, column, value, pk))

    def placed(self, table: Any, pk: str) -> None:
        seg = self.open
        seg.placeholders.append((table, pk))
        if seg.placeholder_since is None:
            seg.placeholder_since = time.monotonic()

    def has_placeholder(self, table: Any, pk: str) -> bool:
        return any((table, pk) in s.placeholders for s in self.segments)

    def after(self, action: Callable[[], None]) -> None:
        """Runs once the open change has been sent (claim releases)."""
        self.open.after.append(action)

    def should_send(self) -> bool:
        return sum(s.size for s in self.segments[:-1]) >= FLUSH_AT_BYTES

    # -- sending -------------------------------------------------------------

    def take(self, everything: bool) -> list[_Segment]:
        """Removes the segments to send: the closed ones, or all at the end."""
        if everything:
            taken, self.segments = self.segments, [_Segment()]
        else:
            taken, self.segments = self.segments[:-1], self.segments[-1:]
        taken = [s for s in taken if s.statements or s.after]
        for seg in taken:
            since = seg.placeholder_since
            if since is not None and time.monotonic() - since > STALE_CLAIM_S:
                self.segments = taken + self.segments
                raise DatabaseError("[cassandra] the write took longer than "
                                    f"{STALE_CLAIM_S} s; nothing of it was stored")
        return taken

    def unsent(self) -> list[_Segment]:
        """What a unit that fails before sending must give back."""
        segs, self.segments = self.segments, [_Segment()]
        return segs


def plan(seg: _Segment) -> Iterator[tuple[list[Statement], bool]]:
    """How to send one change: ``(statements, as one logged batch?)`` in order."""
    if not seg.statements:
        return
    if seg.size <= MAX_BATCH_BYTES:
        yield seg.statements, True
        return
    # Too large for any batch: the intent first, so that a crash midway leaves
    # something for the healer to publish, then statement by statement.
    cut = len(seg.statements) - len(seg.intents)
    if seg.intents:
        yield seg.statements[cut:], True
    for statement in seg.statements[:cut]:
        yield [statement], False


class CassandraUnits:
    """Mixed into the Cassandra strategy: ``transaction()`` and the sending of
    its queue. Uses the strategy's ``cql``, ``events`` and ``_local``, and the
    claims' ``_release`` and ``_unplace`` (mixins declare no stubs of each
    other's methods: one earlier in the bases would hide the real one)."""

    cql: Any
    events: Any
    _local: threading.local

    @contextmanager
    def transaction(self) -> Iterator[None]:
        unit = getattr(self._local, "unit", None)
        if unit is not None:
            yield  # nested calls join the outer unit
            return
        unit = self._local.unit = WriteUnit()
        with self.cql.pinned():
            try:
                yield
                self._send(unit, everything=True)
            except BaseException:
                self._local.unit = None
                self._give_back(unit)
                raise
            self._local.unit = None
            self._finish(unit)

    def _unit(self) -> WriteUnit:
        unit = getattr(self._local, "unit", None)
        if unit is None:
            raise RuntimeError("Cassandra writes must run inside transaction()")
        return unit

    def _settle(self) -> None:
        """Before a read: the unit sends the changes it completed, so that its
        reads see them (as a transaction's would); each is still one batch."""
        unit = getattr(self._local, "unit", None)
        if unit is not None and len(unit.segments) > 1:
            self._send(unit, everything=False)

    def _queue(self, cql: str, params: Sequence[Any]) -> None:
        self._unit().queue((cql, tuple(params)))

    def _send(self, unit: WriteUnit, everything: bool) -> None:
        """Sends the queued changes, one logged batch each. When one fails, those
        after it go back to the unit (never sent); the failed one may still
        land, so its claims and placeholders are left to heal."""
        pending = unit.take(everything)
        while pending:
            seg = pending[0]
            try:
                for statements, atomic in plan(seg):
                    if atomic:
                        self.cql.batch(statements)
                    else:
                        self.cql.run(*statements[0])
            except BaseException:
                unit.segments[:0] = pending[1:]
                raise
            pending.pop(0)
            unit.sent += seg.intents
            for action in seg.after:
                self._quietly(action)

    def _give_back(self, unit: WriteUnit) -> None:
        """A unit that failed: what it never sent gives back its claims and
        placeholders, as a rollback would; what it sent gets its versions."""
        for seg in unit.unsent():
            for table, col, value, pk in seg.claims:
                self._quietly(partial(self._release, table, col, value, pk))
            for table, pk in seg.placeholders:
                self._quietly(partial(self._unplace, table, pk))
        self._finish(unit)

    def _finish(self, unit: WriteUnit) -> None:
        if not unit.sent:
            return
        try:
            unit.version = self.events.publish(unit.sent)
        except (DatabaseError, DatastoreUnavailable) as exc:
            # The change is stored: failing the call now would have it retried
            # as a new one. Its intent waits for the healer instead.
            log.error("change stored but not yet announced to other nodes (any node "
                      "publishes it within about two minutes): %s", exc)

    @staticmethod
    def _quietly(action: Callable[[], Any]) -> None:
        try:
            action()
        except (DatabaseError, DatastoreUnavailable) as exc:
            log.warning("cassandra clean-up left for later: %s", exc)
