"""Two nodes share one datastore: a change made through either node's Admin API
reaches the other node's proxy (PostgreSQL: LISTEN/NOTIFY; Cassandra: polling
every db_update_frequency)."""
from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import shared_datastore_nodes

PROPAGATION_LIMIT_S = 2.0


@pytest.fixture(scope="module", params=["postgres", "cassandra"])
def cluster(request, tmp_path_factory):
    require_binary("nginx")
    with shared_datastore_nodes(tmp_path_factory, request.param,
                                {"db_update_frequency": "1"}) as nodes:
        yield nodes


def wait_status(url: str, status: int, limit: float) -> float:
    """Seconds until ``url`` answers ``status``; fails after ``limit``."""
    started = time.monotonic()
    last = None
    while True:
        last = requests.get(url, timeout=5).status_code
        elapsed = time.monotonic() - started
        if last == status:
            return elapsed
        assert elapsed < limit, f"{url} still answers {last} after {limit}s (wanted {status})"
        time.sleep(0.01)


def test_change_on_one_node_serves_on_the_other(cluster, upstream):
    a, b = cluster
    a.create("/services", {"name": "shared", "url": upstream.url})
    a.create("/services/shared/routes", {"name": "across", "paths": ["/across"]})
    wait_status(b.proxy + "/across", 200, PROPAGATION_LIMIT_S)
    assert requests.get(b.proxy + "/across/x", timeout=5).json()["path"] == "/x"

    assert requests.delete(b.admin + "/routes/across", timeout=10).status_code == 204
    wait_status(a.proxy + "/across", 404, PROPAGATION_LIMIT_S)
    # Both nodes converge on the same configuration version.
    assert a.wait_sync() == b.wait_sync()


def test_both_nodes_see_one_datastore(cluster):
    a, b = cluster
    a.create("/services", {"name": "only-once", "url": "http://127.0.0.1:9"})
    resp = requests.post(b.admin + "/services", json={"name": "only-once",
                                                      "url": "http://127.0.0.1:9"}, timeout=10)
    assert resp.status_code == 409, resp.text
    assert requests.get(b.admin + "/services/only-once", timeout=10).status_code == 200
