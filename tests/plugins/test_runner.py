"""How the data plane picks and runs plugin instances, seen through the
test-tag fixture plugin (tests/fixtures/plugins/): scoping precedence,
disabled instances and protocols, init_worker in every worker."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(plugins="bundled, test-tag", plugins_path=str(FIXTURE_PLUGINS))


def _tag(gw, path: str, **headers: str) -> str | None:
    resp = proxy(gw).get(path, headers={"apikey": "bob-key", **headers})
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("X-Test-Tag") == resp.json()["headers"].get("x-test-tag")
    return resp.headers.get("X-Test-Tag")


def test_scoping_precedence(gateway, bob, upstream):
    """Kong's order: route+service+consumer › route+consumer › service+consumer ›
    route+service › consumer › route › service › global."""
    gw = gateway
    svc = gw.create("/services", {"name": "scoped", "url": upstream.url})
    route = gw.create("/services/scoped/routes", {"paths": ["/scoped"]})
    gw.create(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    other = gw.create("/services/scoped/routes", {"paths": ["/scoped-other"]})
    gw.create(f"/routes/{other['id']}/plugins", {"name": "key-auth"})
    r, s, c = {"id": route["id"]}, {"id": svc["id"]}, {"id": bob["consumer"]["id"]}
    levels = [("rsc", {"route": r, "service": s, "consumer": c}),
              ("rc", {"route": r, "consumer": c}), ("sc", {"service": s, "consumer": c}),
              ("rs", {"route": r, "service": s}), ("c", {"consumer": c}), ("r", {"route": r}),
              ("s", {"service": s}), ("global", {})]
    ids = {}
    for tag, scope in levels:
        ids[tag] = gw.create("/plugins", {"name": "test-tag", "config": {"tag": tag},
                                          **scope})["id"]
    gw.wait_sync()
    for tag, _scope in levels:
        assert _tag(gw, "/scoped") == tag
        admin(gw).delete(f"/plugins/{ids[tag]}")
        gw.wait_sync()
    assert _tag(gw, "/scoped") is None


def test_disabled_and_protocol_mismatch_ignored(gateway, svc, bob):
    gw = gateway
    route = gw.route("/proto", {"name": "key-auth"})
    gw.create("/plugins", {"name": "test-tag", "config": {"tag": "https-only"},
                           "route": {"id": route["id"]}, "protocols": ["https"]})
    plugin = gw.create("/plugins", {"name": "test-tag", "config": {"tag": "off"},
                                    "service": {"id": route["service"]["id"]},
                                    "enabled": False})
    gw.wait_sync()
    assert _tag(gw, "/proto") is None
    admin(gw).patch(f"/plugins/{plugin['id']}", {"enabled": True})
    gw.wait_sync()
    assert _tag(gw, "/proto") == "off"


def test_custom_plugin_init_worker_runs_in_every_worker(gateway):
    log = (gateway.prefix / "logs" / "error.log").read_text(errors="replace")
    marker = "test-tag init_worker in worker "
    workers = {line.split(marker, 1)[1].split(",")[0] for line in log.splitlines()
               if marker in line}
    assert workers == {"0", "1"}
