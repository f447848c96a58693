from __future__ import annotations

import hashlib
import json
import socket
import threading
import time

import pytest

from kongpy import paths
from kongpy.sync import model, notify, snapshot
from kongpy.sync.loop import SyncLoop
from kongpy.sync.push import ControlClient, DataPlaneError


def test_snapshot_of_an_empty_datastore(database):
    header, arrays = snapshot.parse(model.build(database))
    assert header["snapshot_format"] == snapshot.SNAPSHOT_FORMAT == 3
    assert header["version"] == database.events.latest()
    assert arrays["services"] == [] and arrays["routes"] == []
    expected = hashlib.sha256(json.dumps(arrays, sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()
    assert header["hash"] == expected


def test_snapshot_holds_entities_as_the_admin_api_returns_them(database):
    before = model.document(database)
    service = database.services.insert({"name": "svc", "host": "example.test"})
    route = database.routes.insert({"name": "r", "paths": ["/a"],
                                    "service": {"id": service["id"]}})
    blob = model.build(database)
    snap = model.document(database)
    assert snap["version"] > before["version"]
    assert snap["hash"] != before["hash"]
    assert snap["services"] == [database.services.select(service["id"])]
    (got,) = snap["routes"]
    assert got["id"] == route["id"] and got["service"] == {"id": service["id"]}
    assert "hosts" in got  # unset fields are present, as null
    assert model.document(database)["hash"] == snap["hash"]
    # What is pushed is canonical JSON: header and body read back identically.
    header, body = snapshot.parse(blob)
    assert blob == snapshot.frame(header, snapshot.encode(body))


def test_snapshot_file_is_written_atomically(workdir):
    path = workdir / "config" / "snapshot.jsonl"
    snapshot.write(path, snapshot.frame({"version": 1}, b"{}"))
    snapshot.write(path, snapshot.frame({"version": 2}, b"{}"))
    assert snapshot.read(path) == ({"version": 2, "snapshot_format": 3}, {})
    assert [p.name for p in path.parent.iterdir()] == ["snapshot.jsonl"]
    assert snapshot.read(workdir / "missing.jsonl") is None


def test_notify_never_raises(workdir):
    notify(workdir / "no-such-prefix")
    notify("/")


def test_notify_wakes_the_loop(config):
    loop = SyncLoop(config)
    loop.bind()
    try:
        layout = paths.prefix(config["prefix"])
        assert layout.sync_socket.exists()
        loop._dp_reachable = True  # wait the full (30 s) period unless nudged
        timer = threading.Timer(0.05, notify, args=(config["prefix"],))
        started = time.monotonic()
        timer.start()
        loop.wait()
        assert time.monotonic() - started < 5
        # Several queued nudges make one wake-up, not several.
        for _ in range(5):
            notify(config["prefix"])
        loop.wait()
        loop._sock.settimeout(0.05)
        with pytest.raises(socket.timeout):
            loop._sock.recv(64)
    finally:
        loop._close()
    assert not paths.prefix(config["prefix"]).sync_socket.exists()


def test_control_client_without_data_plane(workdir):
    client = ControlClient(str(workdir / "absent.sock"), timeout=1)
    with pytest.raises(DataPlaneError, match="absent.sock"):
        client.snapshot_state()


def test_tick_without_data_plane_keeps_the_snapshot_file(config, database):
    layout = paths.prefix(config["prefix"])
    kept = snapshot.frame({"version": 7}, b"{}")
    snapshot.write(layout.snapshot_file, kept)
    loop = SyncLoop(config)
    assert loop.tick() is False
    assert layout.snapshot_file.read_bytes() == kept


def test_loop_stops_promptly(config):
    loop = SyncLoop(config)
    thread = threading.Thread(target=loop.run)
    thread.start()
    time.sleep(0.1)
    loop.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
