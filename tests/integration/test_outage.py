"""A node survives a datastore outage: it keeps proxying with its last
configuration, its Admin API answers 503 instead of hanging, a restart serves
the kept snapshot, and it re-syncs without a restart once the datastore is back.

A datastore that is down (refusing connections) is quick to notice; a frozen
one (its processes stopped with SIGSTOP: the kernel accepts connections and
acknowledges packets, nothing answers) is the hard case: every wait for it is
bounded by ``pg_timeout`` alone, and the Admin API answers 503 within it.

These tests stop or freeze a PostgreSQL server, so they run their own instance
(tests/helpers/outage.py: its own port and data folder) and leave the shared
one to the tests running beside them.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway
from tests.helpers.outage import OwnPostgres, timed
from tests.helpers.servers import free_port

pytestmark = pytest.mark.integration

PG_TIMEOUT_MS = 2000
# What the issue asks of every Admin API answer while the datastore is silent.
BOUND_S = PG_TIMEOUT_MS / 1000 + 1


@pytest.fixture
def own_postgres():
    require_binary("nginx")
    datastores.require_server("postgres")  # the shared server proves the binaries work
    server = OwnPostgres("outage").start()
    yield server
    server.stop()


@pytest.fixture
def outage_node(own_postgres, upstream, tmp_path):
    """A node on the private server, proxying ``/kept`` to the upstream."""
    node = Gateway(tmp_path, workers=1,
                   extra=datastores.as_conf(own_postgres.settings(PG_TIMEOUT_MS)))
    node.start()
    try:
        node.create("/services", {"name": "kept", "url": upstream.url})
        node.create("/services/kept/routes", {"paths": ["/kept"]})
        node.wait_sync()
        assert requests.get(node.proxy + "/kept", timeout=5).status_code == 200
        yield node
    finally:
        node.stop()


def _all_ok(url: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [s for s in (session.get(url, timeout=5).status_code for _ in range(count))
                if s != 200]


def _eventually(check, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, requests.RequestException):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _expect(url: str, status: int) -> None:
    assert requests.get(url, timeout=5).status_code == status


def _silent_503(resp: requests.Response, port: int) -> None:
    """Kong's error shape, naming the datastore and the timeout it waited."""
    assert resp.status_code == 503, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {"message": f"cannot reach the datastore (postgres at 127.0.0.1:"
                                      f"{port}): no answer within {PG_TIMEOUT_MS} ms"}


def _admin(node: Gateway, method: str, path: str, body: dict | None = None):
    return requests.request(method, node.admin + path, json=body, timeout=30)


def _recovers(node: Gateway, path: str) -> None:
    """After the thaw: the Admin API writes again, the sync loop carries it to the proxy."""
    def add_route() -> None:
        resp = node.post("/services/kept/routes", json={"paths": [path]})
        assert resp.status_code == 201, resp.text
    _eventually(add_route, timeout=10)
    _eventually(lambda: _expect(node.proxy + path, 200), timeout=10)


def test_a_frozen_datastore_is_answered_within_pg_timeout(own_postgres, outage_node):
    node = outage_node
    requests_ = ([("GET", "/services", None), ("GET", "/routes", None),
                  ("GET", "/services/kept", None), ("GET", "/consumers", None)] * 2
                 + [("POST", "/services", {"name": f"s{i}", "url": "http://x"})
                    for i in range(2)]
                 + [("POST", "/consumers", {"username": f"c{i}"}) for i in range(2)])
    assert len(requests_) == 12

    with own_postgres.frozen():
        # A dozen requests at once, the first to meet the silence: none waits
        # for another's dead connection.
        with ThreadPoolExecutor(len(requests_)) as pool:
            answers = list(pool.map(lambda r: timed(_admin, node, *r), requests_))
        for (method, path, _), (took, resp) in zip(requests_, answers):
            assert not isinstance(resp, Exception), (method, path, resp)
            _silent_503(resp, own_postgres.port)
            assert took < BOUND_S, (method, path, took)

        took, resp = timed(_admin, node, "GET", "/status")
        assert took < BOUND_S and resp.status_code == 200, (took, resp.text)
        assert resp.json()["database"] == {"reachable": False}

        # The data plane never asks the datastore.
        assert _all_ok(node.proxy + "/kept", 100) == []

    _recovers(node, "/after-first")

    with own_postgres.frozen():
        # A single request, the first of this outage, waits pg_timeout at most.
        took, resp = timed(_admin, node, "GET", "/services")
        assert not isinstance(resp, Exception), resp
        _silent_503(resp, own_postgres.port)
        assert took < BOUND_S, took
        assert _all_ok(node.proxy + "/after-first", 20) == []

    _recovers(node, "/after-second")
    assert _all_ok(node.proxy + "/kept", 20) == []


def test_node_survives_a_datastore_outage(own_postgres, outage_node):
    node = outage_node
    own_postgres.run("stop")
    assert _all_ok(node.proxy + "/kept", 200) == []
    took, resp = timed(_admin, node, "GET", "/services")
    assert not isinstance(resp, Exception), resp
    assert resp.status_code == 503, resp.text
    assert "cannot reach the datastore (postgres at 127.0.0.1:" in resp.json()["message"]
    assert took < BOUND_S

    # A node restarted during the outage serves the snapshot its prefix keeps.
    node.stop()
    proc = node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix))
    assert "serving the last configuration" in proc.stderr
    assert _all_ok(node.proxy + "/kept", 50) == []

    own_postgres.run("start")
    _recovers(node, "/after")
    assert _all_ok(node.proxy + "/kept", 50) == []


def test_start_without_datastore_or_snapshot_names_it(tmp_path):
    port = free_port()  # nothing listens there
    settings = {**datastores.pg_settings(), "pg_port": port, "pg_timeout": 1000}
    node = Gateway(tmp_path, workers=1, extra=datastores.as_conf(settings))
    proc = node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix), check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: cannot reach the datastore (postgres at "
                                  f"127.0.0.1:{port})"), proc.stderr
    assert "Traceback" not in proc.stderr
