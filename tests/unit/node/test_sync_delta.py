"""The sync loop pushes small changes as deltas and falls back to full snapshots."""
from __future__ import annotations

import shutil
from typing import Any

import pytest

from kongpy import paths
from kongpy.render import context as render_context
from kongpy.sync import loop as loop_module
from kongpy.sync import model, snapshot
from kongpy.sync.loop import SyncLoop
from kongpy.sync.push import PushResult


class RecordingDataPlane:
    """A control-socket client that applies what it is sent to a dict of rows."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.hash: str | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []
        self.refuse_deltas: int | None = None  # answer this status to deltas
        self.node: dict[str, Any] = {}  # what POST /node said last
        self.node_pushes = 0

    def snapshot_state(self) -> dict[str, Any]:
        return {"version": self.version, "hash": self.hash, "workers": [],
                "node": dict(self.node)}

    def push_node(self, facts: dict[str, Any]) -> None:
        self.node_pushes += 1
        self.node.update(facts)

    def push(self, body: bytes) -> PushResult:
        header, arrays = snapshot.parse(body)
        doc = {**header, **arrays}
        self.calls.append(("full", doc["version"]))
        if doc["version"] == self.version and doc["hash"] == self.hash:
            return PushResult(200, {"version": self.version})
        self.version, self.hash = doc["version"], doc["hash"]
        self.rows = {k: {r["id"]: r for r in v} for k, v in doc.items() if isinstance(v, list)}
        return PushResult(201, {"version": self.version})

    def push_delta(self, body: bytes) -> PushResult:
        header, changes = snapshot.parse(body)
        doc = {**header, "changes": changes}
        self.calls.append(("delta", doc["version"]))
        if self.refuse_deltas:
            return PushResult(self.refuse_deltas, {"message": "no", "version": self.version})
        if doc["base_version"] != self.version:
            return PushResult(409, {"message": "base version mismatch",
                                    "version": self.version})
        for name, change in doc["changes"].items():
            rows = self.rows.setdefault(name, {})
            for pk in change["delete"]:
                rows.pop(pk, None)
            rows.update({r["id"]: r for r in change["upsert"]})
        self.version, self.hash = doc["version"], doc["hash"]
        return PushResult(201, {"version": self.version})


@pytest.fixture(autouse=True)
def own_runtime_dir(config):
    """A node id in the prefix, as a started node has: without one the
    stream folder is the same for every test running at once
    (/var/lib/kongpy/<node_id>/stream, when running as root)."""
    node_id = paths.node_id(config["prefix"])
    yield
    shutil.rmtree(render_context.RUNTIME_ROOT / node_id, ignore_errors=True)


@pytest.fixture
def setup(config, database):
    dp = RecordingDataPlane()
    now = [0.0]
    sync = SyncLoop(config, open_db=lambda _c: database, client=dp, clock=lambda: now[0])
    yield sync, dp, now
    sync._close_db()


def _full_rows(database) -> dict[str, dict[str, Any]]:
    doc = model.document(database)
    return {k: {r["id"]: r for r in v} for k, v in doc.items() if isinstance(v, list)}


def test_first_push_is_full_then_small_changes_are_deltas(setup, database, config):
    sync, dp, _ = setup
    assert sync.tick() is True
    assert dp.calls == [("full", database.events.latest())]
    bob = database.consumers.insert({"username": "bob"})
    cred = database.keyauth_credentials.insert({"consumer": {"id": bob["id"]}, "key": "k"})
    assert sync.tick() is True
    assert dp.calls[-1] == ("delta", database.events.latest())
    assert dp.rows == _full_rows(database)
    # the prefix always holds the full snapshot, deltas or not
    file, _ = snapshot.read(paths.prefix(config["prefix"]).snapshot_file)
    assert file["version"] == dp.version and file["hash"] == dp.hash
    database.keyauth_credentials.delete(cred["id"])
    assert sync.tick() is True
    assert dp.calls[-1] == ("delta", database.events.latest())
    assert dp.rows["keyauth_credentials"] == {}
    assert sync.tick() is False  # nothing new


def test_refused_delta_falls_back_to_full_in_the_same_round(setup, database):
    sync, dp, _ = setup
    sync.tick()
    dp.refuse_deltas = 409
    database.services.insert({"name": "s", "host": "a.test"})
    assert sync.tick() is True
    latest = database.events.latest()
    assert dp.calls[-2:] == [("delta", latest), ("full", latest)]
    assert dp.version == latest and dp.rows == _full_rows(database)
    dp.refuse_deltas = 400
    database.services.insert({"name": "s2", "host": "b.test"})
    assert sync.tick() is True
    assert dp.calls[-1] == ("full", database.events.latest())
    assert dp.rows == _full_rows(database)


def test_unknown_base_or_large_change_goes_full(setup, database, monkeypatch):
    sync, dp, _ = setup
    sync.tick()
    dp.version = 10**9  # the data plane serves something else (e.g. restarted)
    database.services.insert({"name": "s", "host": "a.test"})
    sync.tick()
    assert dp.calls[-1] == ("full", database.events.latest())
    monkeypatch.setattr(loop_module, "DELTA_MAX_ROWS", 2)
    for i in range(3):
        database.services.insert({"name": f"m{i}", "host": "a.test"})
    sync.tick()
    assert [c[0] for c in dp.calls] == ["full", "full", "full"]
    database.services.insert({"name": "last", "host": "a.test"})
    sync.tick()
    assert dp.calls[-1][0] == "delta"
    assert dp.rows == _full_rows(database)


def test_chain_is_compacted_by_count_and_by_age(setup, database, monkeypatch):
    sync, dp, now = setup
    monkeypatch.setattr(loop_module, "COMPACT_AFTER_DELTAS", 3)
    sync.tick()
    for i in range(3):
        database.services.insert({"name": f"s{i}", "host": "a.test"})
        sync.tick()
    latest = database.events.latest()
    # after the third delta, the full snapshot of the same version
    assert [c[0] for c in dp.calls] == ["full", "delta", "delta", "delta", "full"]
    assert dp.calls[-1] == ("full", latest)
    database.services.insert({"name": "t", "host": "a.test"})
    sync.tick()
    assert dp.calls[-1][0] == "delta"
    sync.tick()  # nothing changed, the chain is young
    assert dp.calls[-1][0] == "delta"
    now[0] += loop_module.COMPACT_AFTER_SECONDS + 1
    sync.tick()
    assert dp.calls[-1] == ("full", database.events.latest())
    sync.tick()
    assert dp.calls[-1] == ("full", database.events.latest())
    assert len(dp.calls) == 7


# -- the stream subset follows what was applied ------------------------------------

@pytest.fixture
def stream_setup(make_conf, database):
    from kongpy import conf

    config = conf.load(make_conf(db_update_frequency="30", stream_listen="127.0.0.1:19000"),
                       env={})
    dp = RecordingDataPlane()
    sync = SyncLoop(config, open_db=lambda _c: database, client=dp)
    yield sync, dp, render_context.stream_snapshot_target(config)[0]
    sync._close_db()


def _stream_doc(path) -> dict[str, Any]:
    import json

    return json.loads(path.read_bytes())


def test_stream_file_follows_full_and_delta_pushes(stream_setup, database):
    sync, dp, path = stream_setup
    svc = database.services.insert({"name": "t", "host": "127.0.0.1", "port": 9,
                                    "protocol": "tcp"})
    assert sync.tick() is True and dp.calls[-1][0] == "full"
    assert _stream_doc(path)["version"] == dp.version
    assert _stream_doc(path)["routes"] == []
    route = database.routes.insert({"protocols": ["tcp"], "destinations": [{"port": 9}],
                                    "service": {"id": svc["id"]}})
    assert sync.tick() is True and dp.calls[-1][0] == "delta"
    doc = _stream_doc(path)
    assert doc["version"] == dp.version == database.events.latest()
    assert [r["id"] for r in doc["routes"]] == [route["id"]]
    assert [s["id"] for s in doc["services"]] == [svc["id"]]


def test_refused_push_leaves_the_stream_file(stream_setup, database):
    sync, dp, path = stream_setup
    assert sync.tick() is True
    before = path.read_bytes()
    dp.refuse_deltas = 400
    refused = PushResult(400, {"message": "invalid"})
    dp.push = lambda body: refused  # the full push of the same round is refused too
    database.services.insert({"name": "s", "host": "a.test"})
    assert sync.tick() is False
    assert path.read_bytes() == before


def test_no_stream_file_without_stream_listeners(setup, config):
    sync, _, _ = setup
    path = render_context.stream_snapshot_target(config)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"stale")
    assert sync.tick() is True
    assert not path.exists()


def test_refused_push_restores_the_previous_snapshot_file(setup, database, config):
    sync, dp, _ = setup
    assert sync.tick() is True
    path = paths.prefix(config["prefix"]).snapshot_file
    served = path.read_bytes()
    dp.refuse_deltas = 400

    def refuse(body: bytes) -> PushResult:
        return PushResult(400, {"message": "invalid snapshot: no"})

    dp.push = refuse
    database.services.insert({"name": "s", "host": "a.test"})
    assert sync.tick() is False
    assert path.read_bytes() == served
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    del dp.push
    dp.refuse_deltas = None
    database.services.insert({"name": "s2", "host": "b.test"})
    assert sync.tick() is True
    assert path.read_bytes() != served
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
