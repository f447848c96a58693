"""Plugins on the answers the gateway makes itself, through a real node: an
unreachable upstream's 502 still goes through the header filters of the
plugins the request collected, and a request no route matched runs the
global plugins' later phases (Kong's collected iterator falls back to the
global plugins when access collected nothing)."""
from __future__ import annotations

import pytest

from tests.helpers.http import admin, proxy
from tests.helpers.servers import free_port

ORIGIN = "http://app.example"


@pytest.fixture(scope="module")
def dead(gateway):
    # a port nothing listens on: the connection is refused at once
    gateway.create("/services", {"name": "dead", "url": f"http://127.0.0.1:{free_port()}"})
    return gateway


def test_unreachable_upstream_502_keeps_plugin_headers(dead):
    gw = dead
    gw.route("/dead-cors", {"name": "cors", "config": {"origins": [ORIGIN]}},
             {"name": "correlation-id",
              "config": {"header_name": "X-Cid", "echo_downstream": True}},
             service="dead")
    gw.wait_sync()
    resp = proxy(gw).get("/dead-cors", headers={"Origin": ORIGIN, "X-Cid": "abc"})
    assert resp.status_code == 502
    assert resp.json()["message"] == ("An invalid response was received from the "
                                      "upstream server")
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["X-Cid"] == "abc"
    # a generated id is the one echoed
    resp = proxy(gw).get("/dead-cors", headers={"Origin": ORIGIN})
    assert resp.status_code == 502
    assert resp.headers["X-Cid"]


def test_no_route_runs_global_plugins(dead):
    gw = dead
    plugin = gw.create("/plugins", {"name": "cors", "config": {"origins": [ORIGIN]}})
    try:
        gw.wait_sync()
        resp = proxy(gw).get("/matches-no-route", headers={"Origin": ORIGIN})
        assert resp.status_code == 404
        assert resp.json()["message"] == "no Route matched with those values"
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert resp.headers["Vary"] == "Origin"
    finally:
        admin(gw).delete(f"/plugins/{plugin['id']}")
        gw.wait_sync()
    resp = proxy(gw).get("/matches-no-route", headers={"Origin": ORIGIN})
    assert resp.status_code == 404
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_a_plugin_error_in_access_keeps_plugin_headers(gateway, svc):
    """As Kong (its error handler restores the request's ctx): a Lua error in
    a plugin's access answers 500, and the plugins the request collected
    still run their header_filter on that answer."""
    gw = gateway
    gw.route("/access-error",
             {"name": "cors", "config": {"origins": [ORIGIN]}},
             {"name": "post-function", "config": {"access": ["error('boom')"]}})
    gw.wait_sync()
    resp = proxy(gw).get("/access-error", headers={"Origin": ORIGIN})
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Kong-Request-Id" in resp.headers
