"""Fixtures shared by every test folder.

Integration fixtures start real servers (nginx with the real Lua code, real
upstream HTTP servers). A missing server binary skips locally and fails under
CI=true: in CI nothing skips silently.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest

from tests.helpers.servers import EchoServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}")
                                  else None)
    if path is None:
        message = f"{name} is not installed (run scripts/setup.sh --dev)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_sessionfinish(session, exitstatus):
    """Clusters a test left open are shut down before the interpreter's exit
    stops the executors their driver threads still use."""
    import sys
    conn = sys.modules.get("kongpy.db.strategies.cassandra_conn")
    if conn is not None:
        conn.close_all()


@pytest.fixture
def echo():
    server = EchoServer("echo").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def datastore_pool(tmp_path_factory):
    """One bootstrapped PostgreSQL schema and Cassandra keyspace per test process."""
    from tests.helpers.datastores import Pool

    pool = Pool(tmp_path_factory.mktemp("datastores"))
    yield pool
    pool.close()


# -- the Admin API without a node (no network) ---------------------------------------

@pytest.fixture
def app(tmp_path):
    """The Admin API app on a new SQLite datastore (folders may override it)."""
    from kongpy.admin import close_app, create_app

    config = {"database": "sqlite", "sqlite_path": str(tmp_path / "p.db"),
              "prefix": str(tmp_path)}
    application = create_app(config, node_id="0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10")
    yield application
    close_app(application)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    return app.extensions["kongpy"]["db"]


# -- real nodes, one per test module ---------------------------------------------------

@pytest.fixture(scope="module")
def upstream():
    server = EchoServer("upstream").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_node(tmp_path_factory) -> Callable:
    """``start_node(workers=2, **settings)``: a running node, stopped after the module."""
    from tests.helpers.gateway import Gateway

    require_binary("nginx")
    started = []

    def start(workers: int = 2, **settings: str):
        node = Gateway(tmp_path_factory.mktemp("node"), workers=workers, extra=settings)
        started.append(node)
        return node.start()

    yield start
    for node in started:
        node.stop()


@pytest.fixture(scope="module")
def gateway(start_node):
    """The module's node (two workers, SQLite)."""
    return start_node()
