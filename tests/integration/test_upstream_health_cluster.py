"""A manual health override made through one node's Admin API reaches the
other node of the cluster (shared PostgreSQL) as Kong's `balancer:post_health`
broadcast: its health report and its traffic follow within a sync round."""
from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import shared_datastore_nodes
from tests.helpers.http import admin
from tests.helpers.servers import SwitchServer


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_binary("nginx")
    servers = [SwitchServer(name).start() for name in ("a", "b", "c")]
    with shared_datastore_nodes(tmp_path_factory, "postgres") as pair:
        a, _b = pair
        api = admin(a)
        api.post("/upstreams", {"name": "shared.test", "healthchecks": {
            "passive": {"unhealthy": {"tcp_failures": 1}}}})
        for server in servers:
            api.post("/upstreams/shared.test/targets", {"target": f"127.0.0.1:{server.port}"})
        api.post("/services", {"name": "svc", "host": "shared.test", "port": 80})
        api.post("/services/svc/routes", {"paths": ["/lb"]})
        for node in pair:
            node.wait_sync(timeout=15)
        yield pair, servers
    for server in servers:
        server.stop()


def health_of(node, target: str) -> str | None:
    body = admin(node).get("/upstreams/shared.test/health")
    return {row["target"]: row.get("health") for row in body["data"]}.get(target)


def names(node, count: int = 20) -> Counter:
    seen = Counter()
    for _ in range(count):
        resp = requests.get(node.proxy + "/lb", timeout=10, headers={"Connection": "close"})
        assert resp.status_code == 200, resp.text
        seen[resp.json()["name"]] += 1
    return seen


def _within(check, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def test_an_override_on_one_node_reaches_the_other(cluster):
    (a, b), servers = cluster
    target = f"127.0.0.1:{servers[1].port}"
    admin(a).put(f"/upstreams/shared.test/targets/{target}/unhealthy", status=204)
    assert health_of(a, target) == "UNHEALTHY"
    # PostgreSQL notifies the other node's sync loop: a second or two at most
    took = _within(lambda: health_of(b, target) == "UNHEALTHY", 3.0)
    assert took is not None, health_of(b, target)
    assert set(names(b)) == {"a", "c"}

    admin(b).put(f"/upstreams/shared.test/targets/{target}/healthy", status=204)
    assert _within(lambda: health_of(a, target) == "HEALTHY", 3.0) is not None
    assert set(names(a, 30)) == {"a", "b", "c"}

    # one address, from the other side
    admin(b).put(f"/upstreams/shared.test/targets/{target}/{target}/unhealthy", status=204)
    assert _within(lambda: health_of(a, target) == "UNHEALTHY", 3.0) is not None
    assert set(names(a)) == {"a", "c"}
