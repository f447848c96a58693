"""Upstream TLS verification on a live node: a CA attached to a service through
the Admin API becomes a trust store nginx loads with a reload the node makes
by itself (docs/upstream-tls.md); until then the service is refused."""
from __future__ import annotations

import time

import pytest

from tests.helpers.http import admin, proxy
from tests.helpers.tls import TlsServer, make_ca, make_leaf


@pytest.fixture(scope="module")
def upstream_tls():
    root, other = make_ca("kongpy node root"), make_ca("kongpy node other")
    server = TlsServer("tls-node", make_leaf("localhost", root, dns=["localhost"]))
    yield server, root, other
    server.close()


def _until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(0.2)
        result = check()
    return result


def test_a_ca_attached_through_the_admin_api_is_loaded_and_verifies(start_node, upstream_tls):
    server, root, other = upstream_tls
    gw = start_node(workers=1)
    api = admin(gw)
    ca = api.post("/ca_certificates", {"cert": root.cert_pem})
    wrong = api.post("/ca_certificates", {"cert": other.cert_pem})
    api.post("/services", {"name": "tls-up", "url": f"https://localhost:{server.port}",
                           "tls_verify": True, "ca_certificates": [wrong["id"]]})
    api.post("/services/tls-up/routes", {"name": "tls-up", "paths": ["/tls-up"]})
    # verified against the wrong CA (once its store is loaded): refused
    assert _until(lambda: proxy(gw).get("/tls-up").status_code == 502)
    assert "upstream SSL certificate verify error" in gw.error_log_tail(400)
    api.patch("/services/tls-up", {"ca_certificates": [ca["id"]]})
    # the right CA: a new store, the node reloads by itself, then verified
    assert _until(lambda: proxy(gw).get("/tls-up").status_code == 200), gw.error_log_tail()
    assert proxy(gw).get("/tls-up").json()["name"] == "tls-node"
    assert "the upstream trust stores changed: reloading nginx" in gw.error_log_tail(400)
