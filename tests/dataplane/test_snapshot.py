"""Snapshot pushes over the control socket: apply, refuse, reload, propagate."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import requests

from .harness import DataPlane, framed, route, service, snapshot

pytestmark = pytest.mark.integration


def simple(version: int, port: int, path: str = "/v") -> dict:
    return snapshot(version, [service("s1", port)], [route("r1", "s1", paths=[path])])


def test_push_applies_on_every_worker(dataplane: DataPlane, upstreams) -> None:
    status, body = dataplane.push(simple(1, upstreams[0].port))
    assert (status, body) == (201, {"version": 1})
    state = dataplane.wait_version(1)
    assert len(state["workers"]) == 2
    assert all(w["pid"] for w in state["workers"])
    assert state["hash"] == f"{1:064x}"
    assert requests.get(dataplane.url("/v")).json()["name"] == "a"


def test_same_version_and_hash_is_200(dataplane: DataPlane, upstreams) -> None:
    dataplane.push(simple(2, upstreams[0].port))
    assert dataplane.push(simple(2, upstreams[0].port)) == (200, {"version": 2})


@pytest.mark.parametrize("body,reason", [
    ("{not json", "header line"),
    ("{not json\n{}", "invalid JSON"),
    (framed({**snapshot(9, [], []), "snapshot_format": 1}), "snapshot_format"),
    (framed(snapshot(9, [service("s1", 1)],
                     [route("r1", "s1", paths=["~/(unclosed"])])), "invalid regex"),
    (framed({**snapshot(9, [], []), "version": "nine"}), "version"),
    (json.dumps(snapshot(9, [], [])), "header line"),
    ('{"snapshot_format": 3, "version": 9}\n[]', "JSON objects"),
    ("[]\n{}", "JSON objects"),
])
def test_invalid_snapshot_is_refused_and_previous_keeps_serving(
        dataplane: DataPlane, upstreams, body: str, reason: str) -> None:
    dataplane.push(simple(3, upstreams[0].port, "/kept"))
    dataplane.wait_version(3)
    status, answer = dataplane.push(body)
    assert status == 400
    assert answer["message"].startswith("invalid snapshot: ")
    assert reason in answer["message"]
    _, state = dataplane.control("GET", "/snapshot")
    assert state["version"] == 3
    assert requests.get(dataplane.url("/kept")).status_code == 200


def test_status_endpoint(dataplane: DataPlane) -> None:
    status, body = dataplane.control("GET", "/status")
    assert status == 200
    assert body["server"]["total_requests"] > 0
    assert body["pids"]["master"] == dataplane.proc.pid
    assert "kongpy_snapshot" in body["memory"]["lua_shared_dicts"]
    assert body["lua_version"].startswith("LuaJIT")


def test_unknown_control_path_is_404(dataplane: DataPlane) -> None:
    assert dataplane.control("GET", "/nope")[0] == 404


def test_snapshot_file_is_loaded_at_start(short_tmp: Path, upstreams) -> None:
    (short_tmp / "config").mkdir()
    (short_tmp / "config" / "snapshot.jsonl").write_bytes(
        framed(simple(7, upstreams[1].port, "/boot")))
    dp = DataPlane(short_tmp)
    dp.start()
    try:
        state = dp.wait_version(7)
        assert state["version"] == 7
        r = requests.get(dp.url("/boot"))
        assert r.status_code == 200
        assert r.json()["name"] == "b"
    finally:
        dp.stop()


def test_route_changes_under_load_lose_no_request(dataplane: DataPlane, upstreams) -> None:
    port = upstreams[0].port
    base = 1000
    dataplane.push(simple(base, port, "/load"))
    dataplane.wait_version(base)
    failures: list[str] = []
    done = threading.Event()

    def client() -> None:
        with requests.Session() as s:
            for _ in range(500):
                r = s.get(dataplane.url("/load/x"))
                if r.status_code != 200 or r.json()["path"] != "/x":
                    failures.append(f"{r.status_code} {r.text[:100]}")

    def pusher() -> None:
        for i in range(1, 51):
            routes = [route("r1", "s1", paths=["/load"]),
                      route(f"extra{i}", "s1", paths=[f"/extra{i}"])]
            status, body = dataplane.push(snapshot(base + i, [service("s1", port)], routes))
            if status != 201:
                failures.append(f"push {status} {body}")
        done.set()

    threads = [threading.Thread(target=client) for _ in range(4)]
    threads.append(threading.Thread(target=pusher))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert done.is_set()
    assert failures == []
    dataplane.wait_version(base + 50)
