"""Revoking one credential among many reaches every worker quickly (a delta)."""
from __future__ import annotations

import time

import pytest
import requests

from kongpy import conf as kconf
from kongpy import db as kdb
from tests.conftest import require_binary
from tests.helpers.gateway import Gateway

CREDENTIALS = 20_000


@pytest.fixture(scope="module")
def crowded(tmp_path_factory, upstream):
    """A node whose datastore holds many key-auth credentials before it starts."""
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("crowd"))
    node.cli("migrations", "bootstrap", "-c", str(node.conf_path))
    database = kdb.open(kconf.load(str(node.conf_path), env={}))
    try:
        svc = database.services.insert({"name": "svc", "host": upstream.host,
                                        "port": upstream.port})
        route = database.routes.insert({"paths": ["/crowd"], "service": {"id": svc["id"]}})
        database.plugins.insert({"name": "key-auth", "route": {"id": route["id"]}})
        bob = database.consumers.insert({"username": "bob"})
        with database.strategy.transaction():
            creds = [database.keyauth_credentials.insert(
                {"consumer": {"id": bob["id"]}, "key": f"key-{i}"})
                for i in range(CREDENTIALS)]
    finally:
        database.close()
    node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix))
    node.wait_sync(timeout=30)
    yield node, creds
    node.stop()


def _statuses(gw: Gateway, key: str, times: int = 10) -> set[int]:
    # fresh connections spread over both workers
    return {requests.get(gw.proxy + "/crowd", timeout=5,
                         headers={"apikey": key, "Connection": "close"}).status_code
            for _ in range(times)}


def test_revoking_one_of_many_credentials_is_seen_within_a_second(crowded):
    gw, creds = crowded
    victim = creds[CREDENTIALS // 2]
    assert _statuses(gw, victim["key"]) == {200}
    assert requests.delete(f"{gw.admin}/key-auths/{victim['id']}", timeout=5).status_code == 204
    started = time.monotonic()
    while _statuses(gw, victim["key"], times=2) != {401}:
        assert time.monotonic() - started < 1.0, "revocation not applied within 1 s"
        time.sleep(0.01)
    # every worker serves the version with the revocation
    gw.wait_sync(timeout=max(0.1, 1.0 - (time.monotonic() - started)))
    assert _statuses(gw, victim["key"], times=20) == {401}
    assert _statuses(gw, creds[0]["key"]) == {200}
    assert "delta" in (gw.prefix / "logs" / "error.log").read_text(errors="replace")
