"""ip-restriction: Admin API changes reach the proxy without a restart: the
instance and its deny list."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/ipr-life")
    gw.wait_sync()

    def probe() -> tuple[int, int]:
        return tuple(px.get("/ipr-life", headers={"X-Real-IP": ip}).status_code
                     for ip in ("10.0.0.1", "10.0.0.2"))

    check_instance_lifecycle(gw, f"/routes/{route['id']}",
                             {"name": "ip-restriction", "config": {"deny": ["10.0.0.1"]}},
                             {"deny": ["10.0.0.2"]}, probe,
                             off=(200, 200), on=(403, 200), patched=(200, 403))
