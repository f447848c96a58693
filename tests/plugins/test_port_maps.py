"""Kong's ``port_maps`` through a live node: the port clients reach stands for
the port nginx listens on in X-Forwarded-Port, kong.request.get_forwarded_port
and the log serializer's URL (the pdk-probe fixture plugin reads the PDK)."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.http import proxy
from tests.helpers.servers import free_port

from .test_pdk import op, read_shared

FIXTURE_PLUGINS = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory, upstream):
    require_binary("nginx")
    ports = {"proxy": free_port(), "proxy_ssl": free_port(), "admin": free_port()}
    node = Gateway(tmp_path_factory.mktemp("node"), workers=1, ports=ports, extra={
        "plugins": "bundled, pdk-probe", "plugins_path": str(FIXTURE_PLUGINS),
        "port_maps": f"80:{ports['proxy']}, 443:{ports['proxy_ssl']}"}).start()
    try:
        node.create("/services", {"name": "svc", "url": upstream.url})
        node.create("/services/svc/routes", {"name": "plain", "paths": ["/plain"]})
        node.create("/services/svc/routes", {"name": "probe-route", "paths": ["/probe"]})
        node.create("/services/svc/routes", {"name": "by-port", "paths": ["/by-port"],
                                             "hosts": ["mapped.test:80"]})
        node.create("/plugins", {"name": "pdk-probe", "route": {"name": "probe-route"}})
        node.wait_sync()
        yield node
    finally:
        node.stop()


def test_forwarded_port_is_the_mapped_port(mapped):
    seen = proxy(mapped).get("/plain").json()["headers"]
    assert seen["x-forwarded-port"] == "80"
    # an untrusted client's own X-Forwarded-Port does not count
    seen = proxy(mapped).get("/plain", headers={"X-Forwarded-Port": "1234"}).json()["headers"]
    assert seen["x-forwarded-port"] == "80"
    body = op(mapped, "request")
    assert body["forwarded_port"] == 80
    assert body["port"] == mapped.ports["proxy"]  # get_port stays the listening port


def test_serializer_url_uses_the_mapped_port(mapped):
    rid = uuid.uuid4().hex
    resp = proxy(mapped).get("/probe/x", headers={"X-Probe-Id": rid})
    assert resp.status_code == 200
    log = read_shared(mapped, "log:" + rid)["serialize"]
    assert log["request"]["url"].startswith("http://127.0.0.1:80/probe/x")


def test_route_host_port_matches_the_mapped_port(mapped):
    resp = proxy(mapped).get("/by-port", headers={"Host": "mapped.test"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/"
