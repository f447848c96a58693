"""Kong's `start`/`restart` options: `--db-timeout` (seconds), when given,
is the node's datastore timeout (Kong 3.7+: only when given)."""
from __future__ import annotations

import pytest

from kongpy import conf, paths
from tests.conftest import require_binary
from tests.helpers.gateway import Gateway


@pytest.fixture
def fresh(tmp_path):
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=1, extra={"pg_timeout": "5000"})
    yield gw
    gw.stop()


def _running_timeouts(gw: Gateway) -> tuple[int, int]:
    saved = conf.load(str(paths.prefix(gw.prefix).env_file), env={})
    return saved["pg_timeout"], saved["cassandra_timeout"]


def test_db_timeout_of_start_and_restart(fresh):
    args = ("-c", str(fresh.conf_path), "-p", str(fresh.prefix))
    fresh.cli("start", *args)
    assert _running_timeouts(fresh) == (5000, 5000)
    fresh.cli("restart", *args, "--db-timeout", "7")
    assert _running_timeouts(fresh) == (7000, 7000)
    fresh.cli("stop", "-p", str(fresh.prefix))
    fresh.cli("start", *args, "--db-timeout", "2.5", "--run-migrations")
    assert _running_timeouts(fresh) == (2500, 2500)
