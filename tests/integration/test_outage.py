"""A node survives a datastore outage: it keeps proxying with its last
configuration, its Admin API answers 503 instead of hanging, a restart serves
the kept snapshot, and it re-syncs without a restart once the datastore is back.

The test stops a PostgreSQL server, so it runs its own instance (its own port
and data folder) and leaves the shared one to the tests running beside it.
"""
from __future__ import annotations

import os
import subprocess
import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway
from tests.helpers.servers import free_port

SCRIPT = str(datastores.REPO / "scripts" / "servers" / "postgres.sh")
PG_TIMEOUT_MS = 2000


class OwnPostgres:
    """A private PostgreSQL started and stopped through scripts/servers/postgres.sh."""

    def __init__(self) -> None:
        self.port = free_port()
        self.env = dict(os.environ, KONGPY_TEST_PG_PORT=str(self.port),
                        KONGPY_TEST_SERVERS_DIR=str(datastores.REPO / ".cache" / "servers-outage"))

    def run(self, command: str) -> None:
        proc = subprocess.run([SCRIPT, command], env=self.env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, f"postgres.sh {command}: {proc.stderr}"

    def settings(self) -> dict:
        settings = datastores.pg_settings(datastores.unique_name("outage"))
        settings.update(pg_port=self.port, pg_timeout=PG_TIMEOUT_MS)
        return settings


@pytest.fixture
def own_postgres():
    require_binary("nginx")
    datastores.require_server("postgres")  # the shared server proves the binaries work
    server = OwnPostgres()
    server.run("start")
    yield server
    server.run("stop")


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


def test_node_survives_a_datastore_outage(own_postgres, upstream, tmp_path):
    node = Gateway(tmp_path, workers=1, extra=datastores.as_conf(own_postgres.settings()))
    node.start()
    try:
        node.create("/services", {"name": "kept", "url": upstream.url})
        node.create("/services/kept/routes", {"paths": ["/kept"]})
        node.wait_sync()
        assert requests.get(node.proxy + "/kept", timeout=5).status_code == 200

        own_postgres.run("stop")
        assert _all_ok(node.proxy + "/kept", 200) == []
        started = time.monotonic()
        resp = requests.get(node.admin + "/services", timeout=30)
        assert resp.status_code == 503, resp.text
        assert "cannot reach the datastore (postgres at 127.0.0.1:" in resp.json()["message"]
        assert time.monotonic() - started < 2 * PG_TIMEOUT_MS / 1000 + 1

        # A node restarted during the outage serves the snapshot its prefix keeps.
        node.stop()
        proc = node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix))
        assert "serving the last configuration" in proc.stderr
        assert _all_ok(node.proxy + "/kept", 50) == []

        own_postgres.run("start")

        def add_route() -> None:
            resp = node.post("/services/kept/routes", json={"paths": ["/after"]})
            assert resp.status_code == 201, resp.text
        _eventually(add_route, timeout=10)
        _eventually(lambda: _expect(node.proxy + "/after", 200), timeout=10)
        assert _all_ok(node.proxy + "/kept", 50) == []
    finally:
        node.stop()


def test_start_without_datastore_or_snapshot_names_it(tmp_path):
    port = free_port()  # nothing listens there
    settings = {**datastores.pg_settings(), "pg_port": port, "pg_timeout": 1000}
    node = Gateway(tmp_path, workers=1, extra=datastores.as_conf(settings))
    proc = node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix), check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: cannot reach the datastore (postgres at "
                                  f"127.0.0.1:{port})"), proc.stderr
    assert "Traceback" not in proc.stderr


def _expect(url: str, status: int) -> None:
    assert requests.get(url, timeout=5).status_code == status
