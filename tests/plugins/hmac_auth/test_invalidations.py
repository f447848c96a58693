"""hmac-auth: Admin API changes reach the proxy without a restart: the
instance, its config, its credentials and their consumer."""
from __future__ import annotations

from tests.helpers.http import proxy
from tests.helpers.invalidations import (add_consumer, check_consumer_changes,
                                         check_credential_changes, check_instance_lifecycle)
from tests.plugins.hmac_auth.signing import signed


def _get(gw, path: str, username: str, secret: str, algorithm: str = "hmac-sha256"):
    return proxy(gw).get(path, headers=signed("GET", path, algorithm, secret,
                                              username=username))


def test_instance_lifecycle(gateway, svc):
    gw = gateway
    route = gw.route("/hm-life")
    add_consumer(gw, "bob", {"hmac-auth": {"username": "bob-hmac", "secret": "s"}})

    def probe() -> tuple[int, int, int]:
        return (proxy(gw).get("/hm-life").status_code,
                _get(gw, "/hm-life", "bob-hmac", "s").status_code,
                _get(gw, "/hm-life", "bob-hmac", "s", "hmac-sha512").status_code)

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {"name": "hmac-auth"},
                             {"algorithms": ["hmac-sha512"]}, probe,
                             off=(200, 200, 200), on=(401, 200, 200), patched=(401, 401, 200))


def test_credential_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/hm-cred", {"name": "hmac-auth"})
    _, (cred,) = add_consumer(gw, "carol",
                              {"hmac-auth": {"username": "carol-hmac", "secret": "before"}})
    check_credential_changes(gw, f"/hmac-auths/{cred['id']}", {"secret": "after"},
                             lambda: _get(gw, "/hm-cred", "carol-hmac", "before"),
                             lambda: _get(gw, "/hm-cred", "carol-hmac", "after"))


def test_consumer_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/hm-consumer", {"name": "hmac-auth"})
    dora, _ = add_consumer(gw, "dora", {"hmac-auth": {"username": "dora-hmac", "secret": "s"}})
    check_consumer_changes(gw, dora, lambda: _get(gw, "/hm-consumer", "dora-hmac", "s"))
