"""The per-node sync loop: datastore version → snapshot → local data plane.

It wakes on a nudge (a datagram on `<prefix>/sockets/sync.sock`, sent by this
node's Admin API after a write), on a PostgreSQL notification (every write
NOTIFYs in its transaction, so other nodes' changes arrive at once), or every
`db_update_frequency` seconds (SQLite, Cassandra, and as a safety net), and
pushes whenever the data plane serves
another version than the datastore's latest. Comparing with what the data plane
reports, rather than with what was last sent, also covers an nginx that
restarted or reloaded behind our back.

A change of at most ``DELTA_MAX_ROWS`` rows is pushed as a delta when the data
plane serves exactly the version the model last settled at; anything else
(or a delta the data plane refuses) is pushed as the full snapshot in the same
round. The data plane keeps its last full snapshot plus the deltas after it
for workers that start later, so that chain is bounded: after
``COMPACT_AFTER_DELTAS`` deltas, or ``COMPACT_AFTER_SECONDS`` after the first
delta since the last full push, the full snapshot of the version already
served is pushed again (the data plane only stores it as the new base).

When the data plane reports queued credential re-hashes (``rehash_queued``
in ``GET /snapshot``), the round first takes them and stores each by
compare-and-set (kongpy/sync/rehash.py), so the new hashes go out in the same
round's push.

While the datastore is unreachable the data plane keeps what it serves (and
the prefix keeps the snapshot); the loop keeps trying every period and
re-syncs as soon as the datastore answers.
"""
from __future__ import annotations

import json
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kongpy import paths
from kongpy.conf import Config
from kongpy.errors import DatastoreUnavailable
from kongpy.render import context as render_context, upstream_tls
from kongpy.db import metrics
from kongpy.sync import counters, model, nodefacts, rehash, snapshot, stream
from kongpy.sync.model import SnapshotModel
from kongpy.sync.notify import notify
from kongpy.sync.push import ControlClient, DataPlaneError
from kongpy.sync.secrets import SecretsPusher

log = logging.getLogger(__name__)

# While nginx is (re)starting, look again soon rather than after a full period.
_UNREACHABLE_RETRY = 0.2
DELTA_MAX_ROWS = 1000
COMPACT_AFTER_DELTAS = 100
COMPACT_AFTER_SECONDS = 60.0
# How often expired ttl rows (oauth2 codes and tokens, key-auth keys) are
# removed from the datastore, as Kong's cleanup timer does.
CLEANUP_EVERY = 60.0


def open_node_db(config: Config) -> Any:
    from kongpy import db  # the datastore layer is only needed once we run

    # the node's id marks the events it writes (its own broadcasts come back
    # to it through the event log and are not delivered to it)
    return db.open(config, node_id=paths.node_id(config["prefix"]))


class SyncLoop:
    def __init__(self, config: Config, *, open_db: Callable[[Config], Any] | None = None,
                 client: ControlClient | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 on_node_change: Callable[[], None] | None = None) -> None:
        self.config = config
        # asks the supervisor for a reload (a new upstream trust store)
        self._on_node_change = on_node_change
        self.prefix = paths.prefix(config["prefix"])
        self._client = client or ControlClient(str(self.prefix.control_socket))
        self._open_db = open_db or open_node_db
        self._db: Any = None
        self._listener: Any = None
        self._db_down = False
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._refused: tuple[int, str] | None = None
        self._dp_reachable = False
        self.pushed_version: int | None = None
        self._model = SnapshotModel()
        self._model.built_for = snapshot.built_for(config)
        self._secrets = SecretsPusher(config, self._client)
        # set by reconfigure(): the next round pushes the full snapshot even
        # when the data plane already serves the latest version
        self._force = threading.Event()
        self._clock = clock
        # deltas the data plane applied since its last full snapshot, and when
        # the first of them was
        self._chain = 0
        self._chain_since = 0.0
        self._next_cleanup = 0.0

    # -- lifecycle ---------------------------------------------------------

    def bind(self) -> None:
        path = str(self.prefix.sync_socket)
        self.prefix.sockets.mkdir(parents=True, exist_ok=True)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # In the owner-only sockets folder, and owner-only itself: only the
        # node's own processes (the Admin API) can nudge the loop.
        sock.bind(path)
        os.chmod(path, 0o600)
        self._sock = sock

    def run(self) -> None:
        """Runs until stop(); never raises for datastore or data-plane failures."""
        if self._sock is None:
            self.bind()
        log.info("sync loop started (every %ss)", self.config["db_update_frequency"])
        try:
            while not self._stopping.is_set():
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - the loop must outlive any bug
                    log.exception("sync loop iteration failed")
                if not self._stopping.is_set():
                    self.wait()
        finally:
            self._close()

    def stop(self) -> None:
        self._stopping.set()
        self.wake()

    def wake(self) -> None:
        notify(self.prefix.root)

    def reconfigure(self, config: Config) -> None:
        """A reloaded node: new settings, and the full snapshot pushed again."""
        self.config = config
        self._model.built_for = snapshot.built_for(config)
        self._secrets = SecretsPusher(config, self._client)
        self._force.set()
        self.wake()

    def wait(self) -> None:
        """Blocks until a nudge or a notification arrives or the period ends."""
        assert self._sock is not None
        period = float(self.config["db_update_frequency"])
        if not self._dp_reachable:
            period = min(period, _UNREACHABLE_RETRY)
        waiting: list[Any] = [self._sock] + ([self._listener] if self._listener else [])
        try:
            ready, _, _ = select.select(waiting, [], [], period)
        except (OSError, ValueError):  # a listener whose connection just died
            self._close_listener()
            return
        if self._listener is not None and self._listener in ready:
            try:
                self._listener.drain()
            except Exception as exc:  # noqa: BLE001 - reopened at the next round
                log.warning("lost the datastore notification channel: %s", exc)
                self._close_listener()
        if self._sock in ready:
            self._drain_nudges()

    def _drain_nudges(self) -> None:
        assert self._sock is not None
        self._sock.setblocking(False)
        try:
            while True:
                self._sock.recv(64)
        except (BlockingIOError, InterruptedError):
            pass

    def _close(self) -> None:
        self._close_db()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            try:
                os.unlink(self.prefix.sync_socket)
            except OSError:
                pass

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            except Exception:  # noqa: BLE001 - it is being dropped anyway
                pass
            self._listener = None

    def _close_db(self) -> None:
        self._close_listener()
        if self._db is not None:
            try:
                self._db.close()
            except Exception:  # noqa: BLE001 - it is being dropped anyway
                pass
            self._db = None

    def _keep_previous(self) -> Path | None:
        """The snapshot file as it is, kept aside under another name until
        the push is answered: a hard link, so nothing is read or copied (the
        file is tens of MiB with 100,000 credentials). None when there is none."""
        path = self.prefix.snapshot_file
        kept = path.with_name(path.name + ".previous")
        kept.unlink(missing_ok=True)
        try:
            os.link(path, kept)
        except FileNotFoundError:
            return None
        return kept

    @staticmethod
    def _forget(previous: Path | None) -> None:
        if previous is not None:
            previous.unlink(missing_ok=True)

    def _restore(self, previous: Path | None) -> None:
        if previous is None:
            self.prefix.snapshot_file.unlink(missing_ok=True)
        else:
            os.replace(previous, self.prefix.snapshot_file)

    # -- one round ---------------------------------------------------------

    def tick(self) -> bool:
        """One comparison (and push if needed). Returns whether it pushed."""
        try:
            state = self._client.snapshot_state()
        except DataPlaneError as exc:
            if self._dp_reachable:
                log.warning("data plane unreachable: %s", exc)
            self._dp_reachable = False
            return False
        self._dp_reachable = True
        pushed = self._round(state)
        nodefacts.report(self._client, self.config, state,
                         self._db is not None and not self._db_down)
        return pushed

    def _round(self, state: dict[str, Any]) -> bool:
        try:
            if self._db is None:
                self._db = self._open_db(self.config)
            self._listen()
            latest = self._db.events.latest()
            self._cleanup()
            # Taken only once the datastore has answered in this round.
            if state.get("counters_queued"):
                self._counters()
            if state.get("rehash_queued") and self._rehash():
                latest = self._db.events.latest()
            if state.get("cluster_events_queued") and self._broadcast():
                latest = self._db.events.latest()
            served = state.get("version")
            forced = self._force.is_set()
            if served == latest and not forced and self._model.version is not None:
                self._secrets.push(state.get("secrets_id"))
                self._up_again()
                self._compact(served)
                return False
            self._force.clear()
            self._model.sync(self._db)
            self._trust_stores()
            self._secrets.refresh(self._db, self._model)
            # before the configuration that names them
            self._secrets.push(state.get("secrets_id"))
            body, digest = self._model.encode()
            if served == latest and not forced and digest == state.get("hash"):
                # first round: the data plane already serves exactly this (the
                # snapshot start wrote); later changes can travel as deltas
                self._up_again()
                self._model.settle()
                self._deliver()
                return False
            changes = None if forced else self._model.changes_since(served, DELTA_MAX_ROWS)
        except DatastoreUnavailable as exc:
            self._model.invalidate()
            # The strategy reconnects by itself: keep the handle, drop the listener.
            if not self._db_down:
                log.error("%s; the node keeps serving its last configuration", exc.message)
            self._db_down = True
            self._close_listener()
            return False
        except Exception as exc:  # noqa: BLE001 - any other datastore failure
            log.error("datastore error, keeping the running configuration: %s", exc)
            self._model.invalidate()
            self._close_db()
            return False
        self._up_again()
        pushed = self._push(self._model.version, digest, body, served, changes)
        self._deliver()
        return pushed

    def _trust_stores(self) -> None:
        """The upstream trust stores the services need (docs/upstream-tls.md):
        nginx loads them only with its configuration, so a new one is a node
        change; until the reload the data plane refuses those services."""
        depth = int(self.config["lua_ssl_verify_depth"])
        needed = upstream_tls.needed_stores(self._model.rows("services"),
                                            self._model.rows("ca_certificates"), depth)
        if upstream_tls.write_stores(self.prefix.ssl, needed, depth) and self._on_node_change:
            log.info("the upstream trust stores changed: reloading nginx")
            self._on_node_change()

    def _cleanup(self) -> None:
        """Removes the rows whose ttl ran out, at most once per CLEANUP_EVERY."""
        now = self._clock()
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + CLEANUP_EVERY
        try:
            removed = sum(dao.delete_expired() for dao in list(self._db.daos.values())
                          if dao.schema.uses_ttl)
        except DatastoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - the next period tries again
            log.warning("cannot remove expired rows: %s", exc)
            return
        if removed:
            log.info("removed %d expired row(s)", removed)

    def _counters(self) -> None:
        """Adds the data plane's `cluster` rate-limiting counts to the datastore."""
        try:
            counters.sync(self._client, self._db)
        except DataPlaneError as exc:
            log.warning("cannot sync the rate-limiting counters: %s", exc)
        except metrics.BadBatch as exc:
            log.error("the data plane sent rate-limiting counters that cannot be "
                      "stored: %s", exc)

    def _rehash(self) -> int:
        """Stores the password re-hashes the data plane queued; returns how many."""
        try:
            entries = self._client.take_rehash()
        except DataPlaneError as exc:
            log.warning("cannot take the queued credential re-hashes: %s", exc)
            return 0
        return rehash.apply(self._db, entries)

    def _broadcast(self) -> int:
        """Appends the data plane's kong.cluster_events broadcasts to the event log."""
        try:
            entries = self._client.take_cluster_events()
        except DataPlaneError as exc:
            log.warning("cannot take the queued cluster events: %s", exc)
            return 0
        stored = 0
        for entry in entries:
            channel, data, delay = entry.get("channel"), entry.get("data"), entry.get("delay")
            if isinstance(channel, str) and channel and isinstance(data, str):
                delay = delay if isinstance(delay, (int, float)) and delay > 0 else 0
                self._db.append_event(model.BROADCAST + channel,
                                      json.dumps({"data": data, "delay": delay}))
                stored += 1
        return stored

    def _deliver(self) -> None:
        """Hands other nodes' broadcasts to the data plane (at most once)."""
        events = self._model.take_broadcasts()
        if not events:
            return
        try:
            self._client.deliver_cluster_events(events)
        except DataPlaneError as exc:
            log.warning("%d cluster event(s) not delivered: %s", len(events), exc)

    def _up_again(self) -> None:
        if self._db_down:
            log.warning("datastore reachable again; configuration re-synced")
            self._db_down = False

    def _listen(self) -> None:
        """Opens the push channel (PostgreSQL LISTEN) when the datastore has one."""
        if self._listener is None:
            make = getattr(getattr(self._db, "strategy", None), "listener", None)
            self._listener = make() if make else None

    def _push(self, version: int | None, digest: str, body: bytes, served: Any = None,
              changes: dict[str, Any] | None = None) -> bool:
        key = (version, digest)
        if key == self._refused:
            return False
        previous = self._keep_previous()
        # Written before the push: a reader who sees the data plane at this
        # version must find it in the file too. Rolled back unless it was
        # applied; flushed to disk only once applied, so the flush does not
        # delay the change reaching the workers.
        snapshot.write(self.prefix.snapshot_file, body, durable=False)
        if changes is not None and self._push_delta(served, digest, changes):
            self._forget(previous)
            snapshot.make_durable(self.prefix.snapshot_file)
            return True
        try:
            result = self._client.push(body)
        except DataPlaneError as exc:
            self._restore(previous)
            log.warning("cannot push configuration version %s: %s", version, exc)
            return False
        if not result.applied:
            self._restore(previous)
            self._refused = key
            log.error("data plane refused configuration version %s: %s", version,
                      result.body.get("message"))
            return False
        self._forget(previous)
        snapshot.make_durable(self.prefix.snapshot_file)
        self.pushed_version = version
        self._model.settle()
        self._chain = 0
        log.info("configuration version %s applied", version)
        self._write_stream()
        return True

    def _push_delta(self, base: int, digest: str, changes: dict[str, Any]) -> bool:
        """Pushes the change since ``base``; False when the full snapshot must follow."""
        version = self._model.version
        try:
            result = self._client.push_delta(self._model.encode_delta(base, digest, changes))
        except DataPlaneError as exc:
            log.warning("cannot push configuration delta %s -> %s: %s", base, version, exc)
            return False
        if result.status != 201:
            log.info("data plane answered %s to delta %s -> %s (%s); pushing it in full",
                     result.status, base, version, result.body.get("message"))
            return False
        self.pushed_version = version
        self._model.settle()
        if self._chain == 0:
            self._chain_since = self._clock()
        self._chain += 1
        log.info("configuration version %s applied (delta from %s)", version, base)
        self._write_stream()
        self._compact(version)
        return True

    def _write_stream(self) -> None:
        """The stream subset of the version just applied, for the stream workers;
        none on a node without stream listeners."""
        path, group = render_context.stream_snapshot_target(self.config)
        if not self.config["stream_listen"]:
            path.unlink(missing_ok=True)
            return
        body = {name: self._model.rows(name) for name in stream.ENTITIES}
        stream.write(path, stream.subset(body, self._model.version), group)

    def _compact(self, served: Any) -> None:
        """Pushes the full snapshot of the version served once the delta chain is long."""
        if self._chain == 0 or served != self._model.version or (
                self._chain < COMPACT_AFTER_DELTAS
                and self._clock() - self._chain_since < COMPACT_AFTER_SECONDS):
            return
        body, _ = self._model.encode()
        try:
            result = self._client.push(body)
        except DataPlaneError as exc:
            log.warning("cannot push the full snapshot of version %s: %s", served, exc)
            return
        if result.applied:
            log.info("full snapshot of version %s stored after %s deltas", served, self._chain)
            self._chain = 0
        else:
            self._chain_since = self._clock()  # not again before the period ends
            log.error("data plane refused the full snapshot of version %s: %s", served,
                      result.body.get("message"))
