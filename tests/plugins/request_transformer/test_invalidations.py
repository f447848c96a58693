"""request-transformer: a changed configuration is applied at once (what is
prepared per configuration is dropped with the old one)."""
from __future__ import annotations

from tests.helpers.http import admin, proxy


def test_config_change(gateway, svc):
    gw = gateway
    gw.route("/rt-inv")
    plugin = gw.create("/routes/rt-inv/plugins", {
        "name": "request-transformer", "config": {"add": {"headers": ["x-v:$(query_params.a)"]}}})
    gw.wait_sync()
    assert proxy(gw).get("/rt-inv?a=1").json()["headers"]["x-v"] == "1"
    admin(gw).patch(f"/plugins/{plugin['id']}", {
        "config": {"add": {"headers": ["x-v:static-$(query_params.a)"]}}})
    gw.wait_sync()
    assert proxy(gw).get("/rt-inv?a=2").json()["headers"]["x-v"] == "static-2"
    admin(gw).delete(f"/plugins/{plugin['id']}")
    gw.wait_sync()
    assert "x-v" not in proxy(gw).get("/rt-inv?a=3").json()["headers"]
