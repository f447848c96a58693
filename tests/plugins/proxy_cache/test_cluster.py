"""A purge through one node's Admin API reaches the other node sharing its
datastore (Kong's cluster event proxy-cache:purge)."""
from __future__ import annotations

import time

import pytest

from tests.conftest import require_binary
from tests.helpers.gateway import shared_datastore_nodes
from tests.helpers.http import admin, proxy

LIMIT_S = 3.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_binary("nginx")
    with shared_datastore_nodes(tmp_path_factory, "postgres") as nodes:
        yield nodes


def _status(gw, path: str) -> str:
    return proxy(gw).get(path).headers["X-Cache-Status"]


def _wait_purged(gw, path: str) -> None:
    deadline = time.monotonic() + LIMIT_S
    while _status(gw, path) == "Hit":
        assert time.monotonic() < deadline, f"{path} still cached on the other node"
        time.sleep(0.05)


def test_purges_reach_the_other_node(cluster, upstream):
    a, b = cluster
    a.create("/services", {"name": "svc", "url": upstream.url})
    a.route("/pcc", {"name": "proxy-cache", "config": {"strategy": "memory"}})
    a.wait_sync()
    b.wait_sync()
    for gw in (a, b):
        _status(gw, "/pcc")
        assert _status(gw, "/pcc") == "Hit"
    key = proxy(a).get("/pcc").headers["X-Cache-Key"]

    admin(a).request("DELETE", f"/proxy-cache/{key}", status=204)
    assert _status(a, "/pcc") == "Miss"
    # b's copy goes when its sync loop meets the event
    _wait_purged(b, "/pcc")

    for gw in (a, b):
        assert _status(gw, "/pcc") == "Hit"
    admin(b).request("DELETE", "/proxy-cache", status=204)
    assert _status(b, "/pcc") == "Miss"
    _wait_purged(a, "/pcc")
