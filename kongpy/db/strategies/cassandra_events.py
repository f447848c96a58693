"""Cluster events and the configuration version on Cassandra.

Every node compares one monotonic integer, the version. It is a static
column of the ``cluster_events`` partition, so one conditional batch on that
partition advances it *and* writes the event rows it numbers (Paxos, one
partition): no reader ever sees a version whose event is missing, nor events
landing out of order. Advancing by compare-and-set gives the writer the
numbers it got; a failed attempt returns the current value, so a retry needs
no extra read.

A change reaches this table in two steps (cassandra_unit.py): its rows and
its *intent* (a ``cluster_changes`` row, keyed by minute) go in one logged
batch; then :meth:`CassandraEvents.publish` numbers the intent and marks it
published. If the writer dies between the two, the rows are there but no
version announces them. :meth:`CassandraEvents.heal`, run by every node's
poll, publishes such orphans once they are older than PUBLISH_AFTER_S. Each
node reads each minute's intents once, when the whole minute is that old: a
read a minute, no deletes, no tombstones. Publishing twice (a slow writer and
a healer) only costs an extra version.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable, Sequence

from kongpy.db.strategies.cassandra_unit import Intent
from kongpy.errors import DatabaseError, DatastoreUnavailable

log = logging.getLogger(__name__)

EVENT_TTL_S = 86400
# Longer than a live writer needs between its batch and its version, and than
# Cassandra needs to replay a batch whose coordinator failed (batchlog).
PUBLISH_AFTER_S = 60
# Minutes a fresh process looks back for orphans, and looks at most at once.
HEAL_LOOKBACK = 5
HEAL_MAX_MINUTES = 60
_CAS_ATTEMPTS = 100
# Event rows per conditional batch (one Paxos round each).
_PUBLISH_CHUNK = 50
_BUCKET = 0


class CassandraEvents:
    def __init__(self, cql: Any, table: Callable[[str], str]) -> None:
        self.cql = cql
        self._events = table("cluster_events")
        self._changes = table("cluster_changes")
        self._legacy = table("cluster_version")
        self._heal_lock = threading.Lock()
        self._healed_to: int | None = None

    def create_tables(self) -> None:
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self._events} (bucket int, id bigint, "
                     "channel text, data text, node_id text, at double, version bigint static, "
                     f"PRIMARY KEY (bucket, id)) WITH default_time_to_live = {EVENT_TTL_S}")
        self.cql.ddl(f"CREATE TABLE IF NOT EXISTS {self._changes} (minute bigint, id timeuuid, "
                     "channel text, data text, node_id text, at double, version bigint, "
                     f"PRIMARY KEY (minute, id)) WITH default_time_to_live = {EVENT_TTL_S}")

    def intent_statement(self, intent: Intent) -> tuple[str, tuple]:
        return (f"INSERT INTO {self._changes} (minute, id, channel, data, node_id, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (intent.minute, intent.id, intent.channel, intent.data, intent.node_id,
                 intent.at))

    # -- reading -------------------------------------------------------------------------

    def version(self) -> int:
        # DISTINCT reads the partition's static cells only, never its rows
        # (nor the tombstones of expired events).
        row = self.cql.run(f"SELECT DISTINCT bucket, version FROM {self._events} "
                           "WHERE bucket = ?", (_BUCKET,)).one()
        return int(row["version"]) if row and row["version"] is not None else 0

    def latest(self) -> int:
        self.heal()
        return self.version()

    def since(self, after: int, limit: int) -> list[dict]:
        rows = self.cql.run(f"SELECT id, channel, data, node_id, at FROM {self._events} "
                            "WHERE bucket = ? AND id > ? LIMIT ?", (_BUCKET, after, limit))
        return [dict(r) for r in rows]

    # -- publishing ------------------------------------------------------------------------

    def publish(self, intents: Sequence[Any]) -> int:
        """Numbers ``intents`` (Intent objects or ``cluster_changes`` rows) in
        order; returns the last version given."""
        version = 0
        for start in range(0, len(intents), _PUBLISH_CHUNK):
            chunk = intents[start:start + _PUBLISH_CHUNK]
            version = self._number(chunk)
            self.cql.batch([(f"UPDATE {self._changes} SET version = ? WHERE minute = ? "
                             "AND id = ?", (version - len(chunk) + i + 1, _get(x, "minute"),
                                            _get(x, "id")))
                            for i, x in enumerate(chunk)])
        return version

    def _number(self, chunk: Sequence[Any]) -> int:
        current = self.version()
        for _ in range(_CAS_ATTEMPTS):
            # USING TTL 0: the version must outlive the table's default TTL.
            statements = [(f"UPDATE {self._events} USING TTL 0 SET version = ? "
                           "WHERE bucket = ? IF version = ?",
                           (current + len(chunk), _BUCKET, current or None))]
            statements += [(f"INSERT INTO {self._events} (bucket, id, channel, data, node_id, "
                            "at) VALUES (?, ?, ?, ?, ?, ?)",
                            (_BUCKET, current + i + 1, _get(x, "channel"), _get(x, "data"),
                             _get(x, "node_id"), _get(x, "at")))
                           for i, x in enumerate(chunk)]
            rs = self.cql.batch(statements)
            if rs.was_applied:
                return current + len(chunk)
            current = int(rs.one().get("version") or 0)
        raise DatabaseError("[cassandra] too much contention on the configuration version")

    def disarm(self, intent: Intent) -> None:
        """Marks an intent that must never be published (version 0)."""
        self.cql.run(f"UPDATE {self._changes} SET version = ? WHERE minute = ? AND id = ?",
                     (0, intent.minute, intent.id))

    # -- healing ---------------------------------------------------------------------------

    def heal(self, now: float | None = None) -> int:
        """Publishes the intents of minutes now older than PUBLISH_AFTER_S that
        nobody published; returns how many. Never raises for the datastore."""
        now = time.time() if now is None else now
        due = int((now - PUBLISH_AFTER_S) // 60) - 1
        if self._healed_to is not None and self._healed_to >= due:
            return 0
        if not self._heal_lock.acquire(blocking=False):
            return 0  # another thread of this process is at it
        try:
            first = due - HEAL_LOOKBACK + 1 if self._healed_to is None else self._healed_to + 1
            count = 0
            for minute in range(max(first, due - HEAL_MAX_MINUTES + 1), due + 1):
                count += self._heal_minute(minute)
            self._healed_to = due
            return count
        except (DatabaseError, DatastoreUnavailable) as exc:
            log.warning("cannot look for unpublished changes (next poll retries): %s", exc)
            return 0
        finally:
            self._heal_lock.release()

    def _heal_minute(self, minute: int) -> int:
        rows = self.cql.run(f"SELECT minute, id, channel, data, node_id, at, version "
                            f"FROM {self._changes} WHERE minute = ?", (minute,))
        orphans = [r for r in rows if r["version"] is None]
        if orphans:
            log.warning("publishing %d change(s) whose writer stopped before giving them "
                        "a version (first: %s)", len(orphans), orphans[0]["data"])
            self.publish(orphans)
        return len(orphans)

    # -- maintenance -----------------------------------------------------------------------

    def reset(self) -> None:
        """Empties the events and restarts the version at 0 (one partition delete)."""
        self.cql.run(f"DELETE FROM {self._events} WHERE bucket = ?", (_BUCKET,))
        self._healed_to = None

    def upgrade(self, columns: Callable[[str], Iterable[str]],
                tables: Callable[[], Iterable[str]]) -> None:
        """From the version row of ``cluster_version`` (before write units) to the
        static column; re-runnable."""
        self.create_tables()
        if "version" not in columns("cluster_events"):
            self.cql.ddl(f"ALTER TABLE {self._events} ADD version bigint static")
        if "cluster_version" in tables():
            row = self.cql.run(f"SELECT version FROM {self._legacy} WHERE name = ?",
                               ("events",)).one()
            if row and row["version"]:
                self.cql.run(f"UPDATE {self._events} USING TTL 0 SET version = ? "
                             "WHERE bucket = ? IF version = ?",
                             (int(row["version"]), _BUCKET, None))

    def drop_legacy(self) -> None:
        self.cql.ddl(f"DROP TABLE IF EXISTS {self._legacy}")


def _get(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)
