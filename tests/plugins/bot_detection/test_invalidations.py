"""bot-detection: Admin API changes reach the proxy without a restart: the
instance and its allow and deny lists."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle

AGENTS = ("curl/8.5.0", "Mozilla/5.0 (compatible; Googlebot/2.1)", "Wget/1.21.4")


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/bots-life")
    gw.wait_sync()

    def probe() -> tuple[int, int, int]:
        return tuple(px.get("/bots-life", headers={"User-Agent": agent}).status_code
                     for agent in AGENTS)

    check_instance_lifecycle(gw, f"/routes/{route['id']}",
                             {"name": "bot-detection", "config": {"deny": ["^curl/"]}},
                             {"deny": ["^Wget/"], "allow": ["Googlebot"]}, probe,
                             off=(200, 200, 200), on=(403, 403, 200), patched=(200, 200, 403))
