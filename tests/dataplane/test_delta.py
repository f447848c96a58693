"""Delta pushes (POST /snapshot/delta): applied on every worker, refused safely,
and kept in the shared dict so workers started later rebuild the same config."""
from __future__ import annotations

import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kongpy.sync.snapshot import SNAPSHOT_FORMAT

from .harness import REPO, DataPlane, framed, route, service, snapshot

pytestmark = pytest.mark.integration

CONSUMER = "c0000000-0000-4000-8000-000000000001"


def consumer(cid: str = CONSUMER, username: str = "bob") -> dict[str, Any]:
    return {"id": cid, "username": username, "custom_id": None, "tags": None,
            "created_at": 1700000000, "updated_at": 1700000000}


def cred(cid: str, key: str) -> dict[str, Any]:
    return {"id": cid, "key": key, "consumer": {"id": CONSUMER}, "ttl": None, "tags": None,
            "created_at": 1700000000}


def key_auth(pid: str = "p1") -> dict[str, Any]:
    return {"id": pid, "name": "key-auth", "enabled": True, "route": None,
            "service": None, "consumer": None, "protocols": ["http", "https"],
            "config": {"key_names": ["apikey"], "hide_credentials": False,
                       "anonymous": None, "key_in_header": True, "key_in_query": True,
                       "key_in_body": False, "run_on_preflight": True, "realm": None},
            "tags": None, "created_at": 1700000000, "updated_at": 1700000000}


def full(version: int, port: int, keys: dict[str, str]) -> dict[str, Any]:
    snap = snapshot(version, [service("s1", port)], [route("r1", "s1", paths=["/v"])])
    snap["consumers"] = [consumer()]
    snap["plugins"] = [key_auth()]
    snap["keyauth_credentials"] = [cred(cid, key) for cid, key in keys.items()]
    return snap


def delta(base: int, version: int, **changes: dict) -> bytes:
    return framed({"snapshot_format": SNAPSHOT_FORMAT, "base_version": base,
                   "version": version, "hash": f"{version:064x}", "changes": changes})


def status_of(dp: DataPlane, key: str, path: str = "/v", times: int = 8) -> set[int]:
    """Statuses over several fresh connections (they spread over the workers)."""
    return {requests.get(dp.url(path), headers={"apikey": key, "Connection": "close"}
                         ).status_code for _ in range(times)}


@pytest.fixture
def dp() -> Iterator[DataPlane]:
    prefix = Path(tempfile.mkdtemp(prefix="kpd", dir="/tmp"))
    plane = DataPlane(prefix, settings_overrides={"plugins": ["key-auth"]}, context_overrides={
        "lua_package_path": f"{REPO}/lua/?.lua;{REPO}/lua/?/init.lua;"
                            f"{REPO}/plugins/?.lua;;"})
    plane.start()
    yield plane
    plane.stop()
    shutil.rmtree(prefix, ignore_errors=True)


def test_delta_applies_on_every_worker(dp: DataPlane, upstreams) -> None:
    assert dp.push(full(1, upstreams[0].port, {"k1": "key-one", "k2": "key-two"}))[0] == 201
    dp.wait_version(1)
    assert status_of(dp, "key-one") == {200}
    status, body = dp.control("POST", "/snapshot/delta", delta(
        1, 2, keyauth_credentials={"upsert": [cred("k3", "key-three")], "delete": ["k1"]},
        routes={"upsert": [route("r2", "s1", paths=["/w"])], "delete": []}))
    assert (status, body) == (201, {"version": 2})
    state = dp.wait_version(2, timeout=1.0)
    assert state["hash"] == f"{2:064x}"
    assert status_of(dp, "key-one") == {401}
    assert status_of(dp, "key-two") == {200}
    assert status_of(dp, "key-three", "/w") == {200}
    # a changed key: the old value stops working, the new one works
    assert dp.control("POST", "/snapshot/delta", delta(
        2, 3, keyauth_credentials={"upsert": [cred("k2", "key-two-b")]}))[0] == 201
    dp.wait_version(3, timeout=1.0)
    assert status_of(dp, "key-two") == {401}
    assert status_of(dp, "key-two-b") == {200}


def test_base_mismatch_is_409_and_a_full_push_still_works(dp: DataPlane, upstreams) -> None:
    dp.push(full(5, upstreams[0].port, {"k1": "key-one"}))
    dp.wait_version(5)
    status, body = dp.control("POST", "/snapshot/delta", delta(
        4, 6, keyauth_credentials={"delete": ["k1"]}))
    assert (status, body) == (409, {"message": "base version mismatch", "version": 5})
    assert status_of(dp, "key-one") == {200}
    assert dp.push(full(6, upstreams[0].port, {}))[0] == 201
    dp.wait_version(6)
    assert status_of(dp, "key-one") == {401}
    # deltas chain on from a full push
    assert dp.control("POST", "/snapshot/delta", delta(
        6, 7, keyauth_credentials={"upsert": [cred("k9", "key-nine")]}))[0] == 201
    dp.wait_version(7, timeout=1.0)
    assert status_of(dp, "key-nine") == {200}


@pytest.mark.parametrize("changes,reason", [
    ({"routes": {"upsert": [route("r1", "s1", paths=["~/(unclosed"])]}}, "regex"),
    ({"routes": {"upsert": [route("r2", "missing", paths=["/x"])]}}, "unknown service"),
    ({"keyauth_credentials": {"upsert": [{"key": "no-id"}]}}, "string id"),
    ({"keyauth_credentials": {"delete": [42]}}, "string ids"),
    ({"keyauth_credentials": "everything"}, "changes"),
    ({"plugins": {"upsert": [{"id": "p2"}]}}, "plugins must be objects with a name"),
])
def test_invalid_delta_is_refused_and_nothing_changes(dp: DataPlane, upstreams,
                                                      changes: dict, reason: str) -> None:
    dp.push(full(1, upstreams[0].port, {"k1": "key-one"}))
    dp.wait_version(1)
    # a valid change riding along must not be applied either
    changes = {**changes, "consumers": {"delete": [CONSUMER]}}
    status, body = dp.control("POST", "/snapshot/delta", delta(1, 2, **changes))
    assert status == 400
    assert body["message"].startswith("invalid delta: ") and reason in body["message"]
    _, state = dp.control("GET", "/snapshot")
    assert state["version"] == 1
    assert status_of(dp, "key-one") == {200}
    assert dp.control("POST", "/snapshot/delta", "{}")[0] == 400


def _worker_pids(dp: DataPlane) -> set[int]:
    _, body = dp.control("GET", "/snapshot")
    return {w["pid"] for w in body["workers"]}


def test_new_workers_rebuild_full_plus_chain(dp: DataPlane, upstreams) -> None:
    dp.push(full(1, upstreams[0].port, {"k1": "key-one", "k2": "key-two"}))
    dp.wait_version(1)
    dp.control("POST", "/snapshot/delta", delta(
        1, 2, routes={"upsert": [route("r2", "s1", paths=["/w"])]}))
    dp.control("POST", "/snapshot/delta", delta(
        2, 3, keyauth_credentials={"delete": ["k1"]}))
    dp.wait_version(3, timeout=1.0)
    old = _worker_pids(dp)
    assert dp.proc is not None
    dp.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _worker_pids(dp) & old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _worker_pids(dp) & old
    dp.wait_version(3)
    assert status_of(dp, "key-one", "/w") == {401}
    assert status_of(dp, "key-two", "/w") == {200}
    # the full snapshot of the version served becomes the new base (cheaply)
    compacted = full(3, upstreams[0].port, {"k2": "key-two"})
    compacted["routes"].append(route("r2", "s1", paths=["/w"]))
    assert dp.push(compacted) == (200, {"version": 3})
    assert dp.control("POST", "/snapshot/delta", delta(
        3, 4, keyauth_credentials={"upsert": [cred("k1", "key-one")]}))[0] == 201
    dp.wait_version(4, timeout=1.0)
    old = _worker_pids(dp)
    dp.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while _worker_pids(dp) & old and time.monotonic() < deadline:
        time.sleep(0.05)
    dp.wait_version(4)
    assert status_of(dp, "key-one", "/w") == {200}
    assert "cannot" not in dp.error_log()
