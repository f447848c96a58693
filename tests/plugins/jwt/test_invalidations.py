"""jwt: Admin API changes reach the proxy without a restart: the instance, its
config, its credentials (jwt_secrets, their public keys) and their consumer."""
from __future__ import annotations

import time

from tests.conftest import require_binary
from tests.helpers.http import proxy
from tests.helpers.invalidations import (add_consumer, check_consumer_changes,
                                         check_credential_changes, check_instance_lifecycle)
from tests.plugins.jwt.tokens import Keys, hs256, make_token


def _get(gw, path: str, token: str | None = None):
    return proxy(gw).get(path, headers={"Authorization": "Bearer " + token} if token else {})


def test_instance_lifecycle(gateway, svc):
    gw = gateway
    route = gw.route("/jwt-life")
    add_consumer(gw, "bob", {"jwt": {"key": "bob-iss", "secret": "bob-secret"}})
    no_exp = hs256({"iss": "bob-iss"}, b"bob-secret")
    with_exp = hs256({"iss": "bob-iss", "exp": int(time.time()) + 600}, b"bob-secret")

    def probe() -> tuple[int, ...]:
        return tuple(_get(gw, "/jwt-life", token).status_code
                     for token in (None, no_exp, with_exp))

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {"name": "jwt"},
                             {"claims_to_verify": ["exp"]}, probe,
                             off=(200, 200, 200), on=(401, 200, 200), patched=(401, 401, 200))


def test_credential_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/jwt-cred", {"name": "jwt"})
    _, (cred,) = add_consumer(gw, "carol", {"jwt": {"key": "carol-iss", "secret": "before"}})
    old, new = (hs256({"iss": "carol-iss"}, secret) for secret in (b"before", b"after"))
    check_credential_changes(gw, f"/jwts/{cred['id']}", {"secret": "after"},
                             lambda: _get(gw, "/jwt-cred", old),
                             lambda: _get(gw, "/jwt-cred", new))


def test_public_key_update_and_delete(gateway, svc, tmp_path):
    """The data plane caches parsed public keys per credential: a new key must win."""
    require_binary("openssl")
    gw = gateway
    before, after = (Keys(tmp_path / name, ("p256",)) for name in ("before", "after"))
    gw.route("/jwt-pkey", {"name": "jwt"})
    _, (cred,) = add_consumer(gw, "erin", {"jwt": {
        "key": "erin-iss", "algorithm": "ES256", "rsa_public_key": before.public["p256"]}})
    old, new = (make_token(keys, {"iss": "erin-iss"}, "ES256") for keys in (before, after))
    check_credential_changes(gw, f"/jwts/{cred['id']}", {"rsa_public_key": after.public["p256"]},
                             lambda: _get(gw, "/jwt-pkey", old),
                             lambda: _get(gw, "/jwt-pkey", new))


def test_consumer_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/jwt-consumer", {"name": "jwt"})
    dora, _ = add_consumer(gw, "dora", {"jwt": {"key": "dora-iss", "secret": "dora-secret"}})
    token = hs256({"iss": "dora-iss"}, b"dora-secret")
    check_consumer_changes(gw, dora, lambda: _get(gw, "/jwt-consumer", token))
