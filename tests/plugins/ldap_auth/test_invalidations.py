"""ldap-auth: Admin API changes to the instance reach the proxy without a
restart (it has no credentials or consumers of its own: the directory holds
the users)."""
from __future__ import annotations

import base64

from tests.helpers import ldap
from tests.helpers.http import proxy
from tests.helpers.invalidations import check_instance_lifecycle


def _creds(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "ldap " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_instance_lifecycle(gateway, svc):
    ldap.require_ldap()
    gw, px = gateway, proxy(gateway)
    route = gw.route("/ldap-life")
    gw.wait_sync()
    config = {"ldap_host": ldap.HOST, "ldap_port": ldap.PORT, "base_dn": ldap.BASE_DN,
              "attribute": "uid"}

    def probe() -> tuple[int, str | None, int, int]:
        refused = px.get("/ldap-life")
        return (refused.status_code, refused.headers.get("WWW-Authenticate"),
                px.get("/ldap-life", headers=_creds("einstein", "password")).status_code,
                px.get("/ldap-life", headers=_creds("newton", "apple")).status_code)

    # the patch changes the attribute: the bind DNs become cn=<user>,…, which
    # is newton's DN and not einstein's (uid=einstein,…)
    plugin = {"name": "ldap-auth", "config": config}
    check_instance_lifecycle(gw, f"/routes/{route['id']}", plugin,
                             {"attribute": "cn", "realm": "kong"}, probe,
                             off=(200, None, 200, 200),
                             on=(401, "LDAP", 200, 401),
                             patched=(401, 'LDAP realm="kong"', 401, 200))
