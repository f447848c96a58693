"""request-size-limiting: Admin API changes reach the proxy without a restart:
the instance and its allowed size."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/rsl-life")
    gw.wait_sync()

    def probe() -> tuple[int, int]:
        return tuple(px.post("/rsl-life", data=b"x" * size).status_code for size in (20, 200))

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {
        "name": "request-size-limiting",
        "config": {"allowed_payload_size": 100, "size_unit": "bytes"}},
        {"allowed_payload_size": 10}, probe, off=(200, 200), on=(200, 413), patched=(413, 413))
