"""Fixtures shared by every test folder.

Integration fixtures start real servers (nginx with the real Lua code, real
upstream HTTP servers). A missing server binary skips locally and fails under
CI=true: in CI nothing skips silently.
"""
from __future__ import annotations

import os
import shutil

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
