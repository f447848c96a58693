"""Full snapshots large enough (> 1 MiB) for the worker to build them with its
garbage collector paused and to collect at once after the swap."""
from __future__ import annotations

import time

import pytest
import requests

from .harness import DataPlane, framed, route, service, snapshot

pytestmark = pytest.mark.integration

ROUTES = 3000
BAD_REGEX = ("invalid regex path '~/(unclosed': "
             'pcre_compile() failed: missing ) in "/(unclosed"')


def large(version: int, port: int, last: dict | None = None) -> bytes:
    routes = [route(f"r{i:05d}", "s1", paths=[f"/large/{i}"]) for i in range(ROUTES)]
    if last is not None:
        routes.append(last)
    blob = framed(snapshot(version, [service("s1", port)], routes))
    assert len(blob) > 1024 * 1024
    return blob


def lua_heaps(dp: DataPlane) -> list[int]:
    _, body = dp.control("GET", "/status")
    return [int(vm["http_allocated_gc"]) for vm in body["memory"]["workers_lua_vms"]]


def test_large_snapshot_applies(dataplane: DataPlane, upstreams) -> None:
    assert dataplane.push(large(4000, upstreams[0].port))[0] == 201
    dataplane.wait_version(4000)
    r = requests.get(dataplane.url(f"/large/{ROUTES - 1}/x"))
    assert r.status_code == 200 and r.json()["path"] == "/x"


@pytest.mark.parametrize("last,reason", [
    (route("zz", "s1", paths=["~/(unclosed"]), "route zz: " + BAD_REGEX),
    (route("zz", "s1", paths=["/ok", "~/(unclosed"]), "route zz: " + BAD_REGEX),
    (route("zz", "missing", paths=["/zz"]), "route zz: references an unknown service"),
    ("not a row", "routes rows must be objects with a string id"),
])
def test_large_invalid_snapshot_is_refused_and_memory_is_reclaimed(
        dataplane: DataPlane, upstreams, last, reason: str) -> None:
    dataplane.push(snapshot(4100, [service("s1", upstreams[0].port)],
                            [route("r1", "s1", paths=["/kept"])]))
    dataplane.wait_version(4100)
    blob = large(4101, upstreams[0].port, last)
    for _ in range(24):
        status, answer = dataplane.push(blob)
        assert status == 400
        assert answer["message"] == "invalid snapshot: " + reason
    assert requests.get(dataplane.url("/kept")).status_code == 200
    # a refused build's garbage is collected (it was built with the collector
    # paused): the rows decoded by 24 of them (~5 MiB each) do not stay
    time.sleep(1.5)
    assert max(lua_heaps(dataplane)) < 40 * 1024 * 1024, lua_heaps(dataplane)
