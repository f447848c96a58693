"""response-ratelimiting: Admin API changes reach the proxy without a restart:
the instance and its limits (the upstream reports usage: conftest.py)."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/rrl-life")
    gw.wait_sync()

    def probe() -> tuple[str | None, bool]:
        """The videos limit the client is told, whether the upstream's report reaches it."""
        resp = px.get("/rrl-life?cost=other=1")
        return resp.headers.get("X-RateLimit-Limit-videos-minute"), "X-Kong-Limit" in resp.headers

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {
        "name": "response-ratelimiting", "config": {"limits": {"videos": {"minute": 10}}}},
        {"limits": {"videos": {"minute": 20}}}, probe,
        off=(None, True), on=("10", False), patched=("20", False))
