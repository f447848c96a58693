"""basic-auth: Admin API changes reach the proxy without a restart: the
instance, its config, its credentials and their consumer (a changed password:
test_access.py)."""
from __future__ import annotations

from tests.helpers.http import admin, basic, proxy
from tests.helpers.invalidations import (add_consumer, cached, check_consumer_changes,
                                         check_credential_changes, check_instance_lifecycle,
                                         until_uncached)


def _get(gw, path: str, user: str, password: str):
    return proxy(gw).get(path, headers={"Authorization": basic(user, password)})


def test_instance_lifecycle(gateway, svc):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/ba-life")
    add_consumer(gw, "bob", {"basic-auth": {"username": "bob", "password": "pw"}})

    def probe() -> tuple[int, str | None, int]:
        refused = px.get("/ba-life")
        return (refused.status_code, refused.headers.get("WWW-Authenticate"),
                _get(gw, "/ba-life", "bob", "pw").status_code)

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {"name": "basic-auth"},
                             {"realm": "kong"}, probe, off=(200, None, 200),
                             on=(401, 'Basic realm="service"', 200),
                             patched=(401, 'Basic realm="kong"', 200))


def test_credential_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/ba-cred", {"name": "basic-auth"})
    _, (cred,) = add_consumer(gw, "carol",
                              {"basic-auth": {"username": "before", "password": "pw"}})
    check_credential_changes(gw, f"/basic-auths/{cred['id']}", {"username": "after"},
                             lambda: _get(gw, "/ba-cred", "before", "pw"),
                             lambda: _get(gw, "/ba-cred", "after", "pw"))


def test_consumer_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/ba-consumer", {"name": "basic-auth"})
    dora, _ = add_consumer(gw, "dora", {"basic-auth": {"username": "dora", "password": "pw"}})
    check_consumer_changes(gw, dora, lambda: _get(gw, "/ba-consumer", "dora", "pw"))


def test_cache_entries_follow_consumer_and_credential_deletion(gateway, svc):
    # Kong's 04-invalidations_spec: GET /cache/<credential cache key> answers
    # the credential, then 404 once the consumer or the credential is deleted
    gw, api, entity = gateway, admin(gateway), "basicauth_credentials"
    gw.route("/ba-cache", {"name": "basic-auth"})
    for name in ("erin", "fred"):
        add_consumer(gw, name, {"basic-auth": {"username": name, "password": "kong"}})
        assert _get(gw, "/ba-cache", name, "kong").status_code == 200
    status, cred = cached(gw, entity, "erin")
    assert status == 200 and cred["username"] == "erin"
    api.delete("/consumers/erin")
    until_uncached(gw, entity, "erin")
    assert _get(gw, "/ba-cache", "erin", "kong").status_code == 401
    cred = cached(gw, entity, "fred")[1]
    api.delete(f"/consumers/fred/basic-auth/{cred['id']}")
    until_uncached(gw, entity, "fred")
    assert _get(gw, "/ba-cache", "fred", "kong").status_code == 401
