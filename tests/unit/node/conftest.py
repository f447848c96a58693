"""Fixtures of the node-layer unit tests: short temp prefixes, conf files, a clean env."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kongpy import conf
from tests.conftest import require_binary


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Settings from the developer's shell must not leak into conf loading
    (the test servers' own variables, KONGPY_TEST_*, stay: they say where
    the servers are)."""
    for key in list(os.environ):
        if key.startswith(("KONG_", "KONGPY_")) and not key.startswith("KONGPY_TEST_"):
            monkeypatch.delenv(key)


@pytest.fixture
def workdir():
    # Unix socket paths are limited to 107 bytes: keep prefixes short.
    path = Path(tempfile.mkdtemp(prefix="kpn", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_conf(workdir):
    def write(**settings: str) -> str:
        values = {"prefix": str(workdir / "prefix")}
        values.update(settings)
        path = workdir / "kongpy.conf"
        path.write_text("".join(f"{k} = {v}\n" for k, v in values.items()))
        return str(path)
    return write


@pytest.fixture
def config(make_conf):
    """A configuration loaded from a conf file in the work dir (sync tests)."""
    return conf.load(make_conf(db_update_frequency="30"), env={})


@pytest.fixture
def database(config):
    """The configuration's datastore, bootstrapped."""
    from kongpy import db

    handle = db.open(config)
    handle.migrations.bootstrap()
    yield handle
    handle.close()


@pytest.fixture
def nginx_bin():
    return require_binary("nginx")
