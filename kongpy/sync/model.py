"""The node's configuration, held in memory and kept current from cluster events.

Rebuilding the snapshot from the datastore on every change costs a read of
every row: seconds with 100,000 credentials. Instead the sync loop reads
everything once, then applies each cluster event (``<entity>:<op>:<id>``) by
re-reading just that row, and re-encodes only the entity arrays that changed.
A full reload still happens when the model cannot trust its history: first
use, a datastore error, events it cannot parse, or every ``FULL_RELOAD_EVERY``
seconds as hygiene (expired ttl rows leave the arrays then; the data plane
already ignores them from their ``expires_at`` on).

The model also remembers which rows changed since the version the data plane
was last known to serve (``settle``), so a small change can be pushed as a
delta (docs/contracts.md §1) instead of the whole document. A full load
forgets that history: the next push is a full snapshot.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterable

from kongpy.sync import snapshot

log = logging.getLogger(__name__)

FULL_RELOAD_EVERY = 300.0
# The event log's channel prefix of kong.cluster_events broadcasts (the rest
# of the channel is the plugin's): events that are not configuration changes.
BROADCAST = "broadcast:"
_EVENTS_PAGE = 1000
# hex digits of a piece's digest in the header: pieces are compared within
# one entity array of one node, never trusted across content
PIECE_TAG = 24


class SnapshotModel:
    """Entity rows by name and id, their encoded arrays, and the version."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.version: int | None = None
        # name -> shard -> id -> row; see _pieces for the shards.
        self._rows: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        # name -> shard -> (encoded rows, digest); see _pieces.
        self._encoded: dict[str, dict[str, tuple[bytes, str]]] = {}
        self._clock = clock
        self._loaded_at = 0.0
        # The version the pending changes are relative to (None: unknown).
        self._since: int | None = None
        self._pending: dict[str, set[str]] = {}
        # What the snapshot is built for (snapshot.built_for); part of the header.
        self.built_for: dict[str, Any] | None = None
        # Other nodes' kong.cluster_events broadcasts met while catching up,
        # for the data plane (taken by the sync loop).
        self.broadcasts: list[dict[str, Any]] = []

    # -- keeping current ---------------------------------------------------

    def sync(self, db: Any) -> None:
        """Brings the model to the datastore's latest version."""
        names = snapshot.entity_names(db)
        stale = (self.version is None or set(names) != set(self._rows)
                 or self._clock() - self._loaded_at > FULL_RELOAD_EVERY)
        if stale or not self._catch_up(db):
            # The one bulk read: a configured read-only replica may serve it.
            bulk = getattr(db, "for_bulk_reads", None)
            self._load(bulk() if bulk else db, names)

    def _broadcast(self, channel: str, data: Any) -> None:
        try:
            doc = json.loads(data) if isinstance(data, str) else None
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("data"), str):
            self.broadcasts.append({"channel": channel, "data": doc["data"],
                                    "delay": doc.get("delay") or 0})

    def take_broadcasts(self) -> list[dict[str, Any]]:
        taken, self.broadcasts = self.broadcasts, []
        return taken

    def invalidate(self) -> None:
        self.version = None

    def _load(self, db: Any, names: Iterable[str]) -> None:
        # The version first: a write landing during the read makes the model
        # newer than its label, and the next round replays that event harmlessly.
        version = db.events.latest()
        self._rows = {}
        for name in names:
            shards: dict[str, dict[str, dict[str, Any]]] = {}
            for row in snapshot.read_all(db, name):
                shards.setdefault(_shard(row["id"]), {})[row["id"]] = row
            self._rows[name] = shards
        self._encoded = {}
        self.version = version
        self._loaded_at = self._clock()
        self._since = None
        self._pending = {}

    def _catch_up(self, db: Any) -> bool:
        """Applies the events after ``version``; False when a full load is needed."""
        assert self.version is not None
        latest = db.events.latest()
        while self.version < latest:
            events = db.events.since(self.version, _EVENTS_PAGE)
            if not events:
                # The history between us and `latest` is gone (expired events).
                return False
            touched: dict[tuple[str, str], None] = {}
            for event in events:
                channel = event.get("channel")
                if isinstance(channel, str) and channel.startswith(BROADCAST):
                    if event.get("node_id") != getattr(db, "node_id", None):
                        self._broadcast(channel[len(BROADCAST):], event.get("data"))
                    continue
                parsed = _parse(event.get("data"))
                if parsed is None:
                    log.info("event %s is not an entity change; reloading", event.get("id"))
                    return False
                if parsed[0] in self._rows:
                    touched[parsed] = None
            for name, pk in touched:
                self._refresh(db, name, pk)
                self._pending.setdefault(name, set()).add(pk)
            self.version = max(int(e["id"]) for e in events)
        return True

    def _refresh(self, db: Any, name: str, pk: str) -> None:
        row = snapshot.read_one(db, name, pk)
        shards = self._rows[name]
        key = _shard(pk)
        if row is None:
            shards.get(key, {}).pop(pk, None)
        else:
            shards.setdefault(key, {})[pk] = row
        self._encoded.get(name, {}).pop(key, None)

    # -- what changed ------------------------------------------------------

    def settle(self) -> None:
        """Records that the data plane now serves ``version``."""
        self._since = self.version
        self._pending = {}

    def pending_count(self) -> int:
        return sum(len(ids) for ids in self._pending.values())

    def changes_since(self, base: Any, limit: int) -> dict[str, dict[str, list]] | None:
        """The rows changed since ``base``, as the ``changes`` of a delta.

        None when the model cannot tell (it was reloaded since, or ``base`` is
        not the version it settled at) or when more than ``limit`` rows changed.
        """
        if (self._since is None or base != self._since or self.version == base
                or self.pending_count() > limit):
            return None
        changes: dict[str, dict[str, list]] = {}
        for name in sorted(self._pending):
            upsert: list[dict[str, Any]] = []
            delete: list[str] = []
            shards = self._rows.get(name, {})
            for pk in sorted(self._pending[name]):
                row = shards.get(_shard(pk), {}).get(pk)
                if row is not None and snapshot.shipped(name, row):
                    upsert.append(row)
                else:
                    delete.append(pk)
            changes[name] = {"upsert": upsert, "delete": delete}
        return changes

    def encode_delta(self, base: int, digest: str,
                     changes: dict[str, dict[str, list]]) -> bytes:
        """A delta (contracts.md §1): its header, then the changes as the body."""
        return snapshot.frame({"base_version": base, "version": self.version, "hash": digest},
                              snapshot.encode(changes))

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of one entity array (none when the snapshot has no such array)."""
        return [row for shard in self._rows.get(name, {}).values() for row in shard.values()]

    # -- the document ------------------------------------------------------

    def encode(self) -> tuple[bytes, str]:
        """The snapshot (contracts.md §1) and its hash.

        Each entity array is encoded once and reused until it changes.
        """
        assert self.version is not None
        out = [b"{"]
        size = 1
        pieces: dict[str, list[list[Any]]] = {}
        for i, name in enumerate(sorted(self._rows)):
            head = (b"," if i else b"") + snapshot.encode(name) + b":["
            out.append(head)
            size += len(head)
            where = pieces[name] = []
            for j, (piece, tag) in enumerate(self._pieces(name)):
                if j:
                    out.append(b",")
                    size += 1
                where.append([size, len(piece), tag])
                out.append(piece)
                size += len(piece)
            out.append(b"]")
            size += 1
        out.append(b"}")
        body = b"".join(out)
        digest = snapshot.digest(body)
        header: dict[str, Any] = {"version": self.version, "hash": digest, "pieces": pieces}
        if self.built_for is not None:
            header["built_for"] = self.built_for
        return snapshot.frame(header, body), digest

    def _pieces(self, name: str) -> list[tuple[bytes, str]]:
        """The encoded array as per-shard pieces (rows joined by commas), each
        with a digest of its bytes (docs/contracts.md §1, `pieces`).

        Rows are grouped by the first two hex digits of their id (256 shards,
        in shard then id order: the data plane does not care about order), so
        one change re-encodes about 1/256th of a large array, and a data plane
        reloading the snapshot decodes only the pieces it does not hold yet.
        """
        encoded = self._encoded.setdefault(name, {})
        shards = self._rows[name]
        pieces = []
        for key in sorted(shards):
            piece = encoded.get(key)
            if piece is None:
                rows = shards[key]
                items = [rows[pk] for pk in sorted(rows) if snapshot.shipped(name, rows[pk])]
                data = snapshot.encode(items)[1:-1]
                piece = encoded[key] = (data, snapshot.digest(data)[:PIECE_TAG])
            if piece[0]:
                pieces.append(piece)
        return pieces


def _shard(pk: str) -> str:
    return pk[:2]


def _parse(data: Any) -> tuple[str, str] | None:
    if not isinstance(data, str):
        return None
    parts = data.split(":")
    if len(parts) != 3 or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[2]


def build(db: Any, built_for: dict[str, Any] | None = None) -> bytes:
    """The snapshot of ``db`` as the sync loop would push it."""
    model = SnapshotModel()
    model.built_for = built_for
    model.sync(db)
    return model.encode()[0]


def document(db: Any) -> dict[str, Any]:
    """The snapshot of ``db`` read back as one dict: the header's fields and
    the entity arrays (for tools and tests that inspect it)."""
    parsed = snapshot.parse(build(db))
    assert parsed is not None
    header, body = parsed
    return {**header, **body}
