"""correlation-id: Admin API changes reach the proxy without a restart: a
global instance, its header name and echo_downstream."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    gw.route("/cid-life")
    gw.wait_sync()

    def probe() -> tuple[bool, bool, bool]:
        """Which header the upstream gets, whether the client gets it back."""
        resp = px.get("/cid-life")
        upstream = resp.json()["headers"]
        return "kong-request-id" in upstream, "x-cid" in upstream, "X-Cid" in resp.headers

    check_instance_lifecycle(gw, "", {"name": "correlation-id"},
                             {"header_name": "X-Cid", "echo_downstream": True}, probe,
                             off=(False, False, False), on=(True, False, False),
                             patched=(False, True, True))
