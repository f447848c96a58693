"""The Status API (status_listen) of real nodes: GET /status, GET and POST
/status/ready with Kong 3.9's readiness rules, Kong's 404 and 405, and
/metrics only where the prometheus plugin is enabled."""
from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.outage import OwnPostgres
from tests.helpers.prometheus import scrape
from tests.helpers.servers import free_port

SERVER_KEYS = {"connections_active", "connections_reading", "connections_writing",
               "connections_waiting", "connections_accepted", "connections_handled",
               "total_requests"}
EMPTY = "no configuration available (empty configuration present)"


def status_node(workdir, **extra: str) -> Gateway:
    port = free_port()
    gw = Gateway(workdir, workers=2, extra={"status_listen": f"127.0.0.1:{port}", **extra})
    gw.status = f"http://127.0.0.1:{port}"
    return gw


def ready_when(gw: Gateway, status: int, timeout: float = 8.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.get(gw.status + "/status/ready", timeout=5)
        if resp.status_code == status or time.monotonic() > deadline:
            return resp
        time.sleep(0.1)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_binary("nginx")
    gw = status_node(tmp_path_factory.mktemp("status")).start()
    yield gw
    gw.stop()


def test_status_is_kongs_body(node):
    # the control plane tells the workers the datastore answered after its
    # first round, which may end just after the node reports itself started
    deadline = time.monotonic() + 5
    while True:
        resp = requests.get(node.status + "/status", timeout=5)
        if resp.json()["database"]["reachable"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert set(body) == {"server", "database", "memory"}
    assert set(body["server"]) == SERVER_KEYS
    assert all(isinstance(v, int) for v in body["server"].values())
    assert body["database"] == {"reachable": True}
    vms = body["memory"]["workers_lua_vms"]
    assert len(vms) == 2 and all(vm["http_allocated_gc"].endswith(" MiB") for vm in vms)
    assert body["memory"]["lua_shared_dicts"]["prometheus_metrics"]["capacity"] == "5.00 MiB"
    in_k = requests.get(node.status + "/status?unit=k&scale=1", timeout=5).json()
    assert in_k["memory"]["lua_shared_dicts"]["prometheus_metrics"]["capacity"] == "5120.0 KiB"
    in_b = requests.get(node.status + "/status?unit=b", timeout=5).json()
    assert in_b["memory"]["lua_shared_dicts"]["prometheus_metrics"]["capacity"] == 5 * 2 ** 20
    bad = requests.get(node.status + "/status?unit=x", timeout=5)
    assert bad.status_code == 400
    assert bad.json() == {"message": "invalid unit 'x' (expected 'k/K', 'm/M', or 'g/G')"}
    # the same body as the Admin API's, unit conversions included
    assert set(admin(node).get("/status?unit=k")["memory"]["lua_shared_dicts"]) == \
        set(in_k["memory"]["lua_shared_dicts"])


def test_unknown_paths_and_methods(node):
    resp = requests.get(node.status + "/nothing", timeout=5)
    assert (resp.status_code, resp.json()) == (404, {"message": "Not found"})
    resp = requests.delete(node.status + "/status", timeout=5)
    assert (resp.status_code, resp.json()) == (405, {"message": "Method not allowed"})
    # /metrics exists because the prometheus plugin is enabled (bundled)
    assert requests.get(node.status + "/metrics", timeout=5).status_code == 200


def test_ready_then_draining(node):
    resp = ready_when(node, 200)
    assert (resp.status_code, resp.json()) == (200, {"message": "ready"})
    bad = requests.post(node.status + "/status/ready", data={"status": "up"}, timeout=5)
    assert bad.status_code == 400
    assert ready_when(node, 200).status_code == 200
    drain = requests.post(node.status + "/status/ready", data={"status": "draining"}, timeout=5)
    assert drain.status_code == 204 and drain.content == b""
    resp = requests.get(node.status + "/status/ready", timeout=5)
    assert (resp.status_code, resp.json()) == (503, {"message": "draining"})


def test_dbless_ready_once_it_serves_a_configuration(tmp_path, echo):
    require_binary("nginx")
    gw = status_node(tmp_path, database="off", plugins="key-auth")
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        resp = ready_when(gw, 503)
        assert (resp.status_code, resp.json()) == (503, {"message": EMPTY})
        status = requests.get(gw.status + "/status", timeout=5).json()
        assert status["configuration_hash"] == "0" * 32
        doc = f"""_format_version: "3.0"
services:
- name: s
  url: {echo.url}
  routes:
  - paths: ["/r"]
"""
        assert gw.post("/config", data={"config": doc}).status_code == 201
        resp = ready_when(gw, 200)
        assert (resp.status_code, resp.json()) == (200, {"message": "ready"})
        status = requests.get(gw.status + "/status", timeout=5).json()
        assert status["configuration_hash"] == admin(gw).get("/status")["configuration_hash"]
        assert status["configuration_hash"] != "0" * 32
        # without the prometheus plugin there is no /metrics, on either API
        assert requests.get(gw.status + "/metrics", timeout=5).status_code == 404
        assert requests.get(gw.admin + "/metrics", timeout=5).status_code == 404
    finally:
        gw.stop()


def test_not_ready_while_the_datastore_is_lost(tmp_path):
    require_binary("nginx")
    datastores.require_server("postgres")
    pg = OwnPostgres("status-ready").start()
    try:
        gw = status_node(tmp_path, db_update_frequency="0.5",
                         **datastores.as_conf(pg.settings(1000)))
        gw.start()
        try:
            assert ready_when(gw, 200).status_code == 200
            metrics = scrape(gw.status + "/metrics")
            assert metrics.value("kong_datastore_reachable") == 1
            pg.run("stop")
            resp = ready_when(gw, 503)
            assert (resp.status_code, resp.json()) == (
                503, {"message": "failed to connect to database"})
            body = requests.get(gw.status + "/status", timeout=5).json()
            assert body["database"] == {"reachable": False}
            assert scrape(gw.status + "/metrics").value("kong_datastore_reachable") == 0
            pg.run("start")
            resp = ready_when(gw, 200, timeout=15)
            assert (resp.status_code, resp.json()) == (200, {"message": "ready"})
            assert scrape(gw.status + "/metrics").value("kong_datastore_reachable") == 1
        finally:
            gw.stop()
    finally:
        pg.stop()
