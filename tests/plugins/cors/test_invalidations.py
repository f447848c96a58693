"""cors: Admin API changes reach the proxy without a restart: a service-scoped
instance and its origins."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    gw.route("/cors-life")
    gw.wait_sync()

    def probe() -> tuple[str | None, bool]:
        """(Access-Control-Allow-Origin of a GET, whether the gateway answers a preflight)."""
        allowed = px.get("/cors-life", headers={"Origin": "http://z.com"})
        preflight = px.options("/cors-life", headers={
            "Origin": "http://z.com", "Access-Control-Request-Method": "POST"})
        return allowed.headers.get("Access-Control-Allow-Origin"), preflight.content == b""

    check_instance_lifecycle(gw, "/services/svc",
                             {"name": "cors", "config": {"origins": ["http://a.com"]}},
                             {"origins": ["http://b.com"]}, probe,
                             off=(None, False), on=("http://a.com", True),
                             patched=("http://b.com", True))
