"""rate-limiting: Admin API changes reach the proxy without a restart: a
service-scoped instance and its limit (local policy)."""
from __future__ import annotations

import time

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    gw.route("/rl-life")
    gw.wait_sync()

    def probe() -> tuple[int, str | None]:
        """The second of two requests in one minute: its status and its limit header."""
        left = 60 - time.time() % 60
        if left < 1:
            time.sleep(left + 0.05)
        px.get("/rl-life")
        resp = px.get("/rl-life")
        return resp.status_code, resp.headers.get("X-RateLimit-Limit-Minute")

    check_instance_lifecycle(gw, "/services/svc",
                             {"name": "rate-limiting", "config": {"minute": 1000}},
                             {"minute": 1}, probe,
                             off=(200, None), on=(200, "1000"), patched=(429, "1"))
