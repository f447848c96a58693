"""kong.cluster_events and kong.cache:invalidate between two nodes sharing a
PostgreSQL datastore, through the pdk-probe fixture plugin: a broadcast
reaches every worker of the other node, never the node that sent it."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.gateway import shared_datastore_nodes
from tests.helpers.http import proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, upstream):
    extra = {"plugins": "bundled, pdk-probe", "plugins_path": str(FIXTURE_PLUGINS)}
    with shared_datastore_nodes(tmp_path_factory, "postgres", extra) as pair:
        a, _b = pair
        a.create("/services", {"name": "probe", "url": upstream.url})
        a.create("/services/probe/routes", {"paths": ["/probe"]})
        a.create("/plugins", {"name": "pdk-probe"})
        for node in pair:
            node.wait_sync()
        yield pair


def op(node, name: str, **params) -> dict:
    resp = proxy(node).get("/probe/x", params={"op": name, **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_a_broadcast_reaches_the_other_nodes_subscribers(nodes):
    a, b = nodes
    assert op(a, "broadcast", data="hello from a") == {"ok": True, "err": None}
    assert _eventually(lambda: op(b, "broadcasts")["0"] == "hello from a"), \
        op(b, "broadcasts")
    # the sender does not receive its own event, as in Kong
    time.sleep(1)
    assert op(a, "broadcasts")["0"] is None
    assert op(b, "broadcast", data="and back")["ok"] is True
    assert _eventually(lambda: op(a, "broadcasts")["0"] == "and back")


def test_a_delayed_broadcast_waits(nodes):
    a, b = nodes
    sent = time.monotonic()
    assert op(a, "broadcast", data="later", delay="3")["ok"] is True
    assert _eventually(lambda: op(b, "broadcasts")["0"] == "later")
    assert time.monotonic() - sent >= 3


def test_cache_invalidation_reaches_the_other_node(nodes):
    a, b = nodes
    for node, value in ((a, "va"), (b, "vb")):
        first = op(node, "cache", key="shared-key", value=value)
        assert (first["value"], first["hit"]) == ({"value": value}, 3)
        assert op(node, "cache", key="shared-key", value=value)["hit"] in (1, 2)
    op(a, "cache_invalidate", key="shared-key")
    # b's copy goes too: its next read runs the callback again
    assert _eventually(lambda: op(b, "cache", key="shared-key", value="vb2")["hit"] == 3)
    assert op(b, "cache", key="shared-key", value="ignored")["value"] == {"value": "vb2"}
