"""An expiring key-auth credential through a real node, on every datastore: it
works until its ttl runs out, the proxy refuses it within a second of expiry
(the data plane compares the expiry with its clock, no push needed), and the
Admin API counts its ttl down, then answers 404."""
from __future__ import annotations

import time

import pytest

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin, proxy

LATE_LIMIT_S = 1.0


@pytest.fixture(scope="module", params=datastores.BACKENDS)
def node(request, tmp_path_factory, upstream):
    require_binary("nginx")
    settings = datastores.isolated(request.param, tmp_path_factory.mktemp("db"))
    gw = Gateway(tmp_path_factory.mktemp("node"), workers=2,
                 extra=datastores.as_conf(settings)).start()
    try:
        gw.create("/services", {"name": "svc", "url": upstream.url})
        gw.route("/ttl", {"name": "key-auth"})
        gw.create("/consumers", {"username": "bob"})
        yield gw
    finally:
        gw.stop()
        datastores.drop(settings)


def test_an_expired_key_stops_working_on_time(node):
    api, px = admin(node), proxy(node)
    before = time.time()
    created = api.post("/consumers/bob/key-auth", {"key": "two-seconds", "ttl": 2})
    after = time.time()
    assert created["ttl"] == 2
    first = api.get(f"/key-auths/{created['id']}")["ttl"]
    node.wait_sync()
    assert px.get("/ttl", headers={"apikey": "two-seconds"}).status_code == 200
    time.sleep(max(0.0, before + 1.2 - time.time()))
    second = api.get("/key-auths/two-seconds")["ttl"]
    assert isinstance(first, int) and isinstance(second, int) and second < first <= 2
    # The expiry lies in [before + 2, after + 2]: the key works up to then and
    # is refused at most LATE_LIMIT_S later.
    status = 200
    while status == 200 and time.time() < after + 2 + LATE_LIMIT_S + 1:
        status = px.get("/ttl", headers={"apikey": "two-seconds"}).status_code
        refused_at = time.time()
        time.sleep(0.02)
    assert status == 401
    assert before + 2 <= refused_at <= after + 2 + LATE_LIMIT_S
    api.get("/key-auths/two-seconds", status=404)
    api.get(f"/key-auths/{created['id']}", status=404)
    assert api.get("/consumers/bob/key-auth")["data"] == []
