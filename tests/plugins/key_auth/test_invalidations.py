"""key-auth: Admin API changes reach the proxy without a restart (Kong's
03-invalidations_spec): the instance, its config, its credentials, their
consumer and the anonymous consumer."""
from __future__ import annotations

from tests.helpers.http import admin, proxy
from tests.helpers.invalidations import (add_consumer, cached, check_consumer_changes,
                                         check_credential_changes, check_instance_lifecycle,
                                         until_uncached)

ENTITY = "keyauth_credentials"


def test_instance_lifecycle(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    route = gw.route("/ka-life")
    gw.wait_sync()

    def probe() -> tuple[int, int, int]:
        return (px.get("/ka-life").status_code,
                px.get("/ka-life", headers={"apikey": "bob-key"}).status_code,
                px.get("/ka-life", headers={"x-key": "bob-key"}).status_code)

    check_instance_lifecycle(gw, f"/routes/{route['id']}", {"name": "key-auth"},
                             {"key_names": ["x-key"]}, probe,
                             off=(200, 200, 200), on=(401, 200, 401), patched=(401, 401, 200))


def test_credential_update_and_delete(gateway, svc):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-cred", {"name": "key-auth"})
    _, (key,) = add_consumer(gw, "carol", {"key-auth": {"key": "before"}})
    check_credential_changes(gw, f"/key-auths/{key['id']}", {"key": "after"},
                             lambda: px.get("/ka-cred", headers={"apikey": "before"}),
                             lambda: px.get("/ka-cred", headers={"apikey": "after"}))


def test_credential_moved_to_another_consumer(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-move", {"name": "key-auth"})
    erin, (key,) = add_consumer(gw, "erin", {"key-auth": {"key": "moving"}})

    def owner() -> str:
        resp = px.get("/ka-move", headers={"apikey": "moving"})
        return resp.json()["headers"]["x-consumer-username"]

    assert owner() == "erin"
    admin(gw).patch(f"/key-auths/{key['id']}", {"consumer": {"id": bob["consumer"]["id"]}})
    gw.wait_sync()
    assert owner() == "bob"


def test_consumer_update_and_delete(gateway, svc):
    gw, px = gateway, proxy(gateway)
    gw.route("/ka-consumer", {"name": "key-auth"})
    dora, _ = add_consumer(gw, "dora", {"key-auth": {"key": "dora-key"}})
    check_consumer_changes(gw, dora, lambda: px.get("/ka-consumer",
                                                    headers={"apikey": "dora-key"}))


def test_anonymous_consumer_deleted(gateway, svc):
    gw, px = gateway, proxy(gateway)
    guest, _ = add_consumer(gw, "guest", {})
    gw.route("/ka-anon", {"name": "key-auth", "config": {"anonymous": guest["id"]}})
    gw.wait_sync()
    seen = px.get("/ka-anon").json()["headers"]
    assert (seen["x-consumer-username"], seen["x-anonymous-consumer"]) == ("guest", "true")
    admin(gw).delete(f"/consumers/{guest['id']}")
    gw.wait_sync()
    resp = px.get("/ka-anon")
    assert resp.status_code == 500
    assert resp.json()["message"] == (f"anonymous consumer {guest['id']} is configured "
                                      "but doesn't exist")


def test_cache_entries_follow_consumer_and_credential_changes(gateway, svc):
    # Kong's 03-invalidations_spec: GET /cache/<credential cache key> answers
    # the credential, then 404 once it is gone (consumer or credential
    # deleted, key changed)
    gw, px, api = gateway, proxy(gateway), admin(gateway)
    gw.route("/ka-cache", {"name": "key-auth"})
    for name in ("inv1", "inv2", "inv3"):
        add_consumer(gw, name, {"key-auth": {"key": f"{name}-key"}})
    for name in ("inv1", "inv2", "inv3"):
        assert px.get("/ka-cache", headers={"apikey": f"{name}-key"}).status_code == 200
    status, cred = cached(gw, ENTITY, "inv1-key")
    assert status == 200 and cred["key"] == "inv1-key" and "id" in cred
    api.delete("/consumers/inv1")
    until_uncached(gw, ENTITY, "inv1-key")
    assert px.get("/ka-cache", headers={"apikey": "inv1-key"}).status_code == 401
    cred = cached(gw, ENTITY, "inv2-key")[1]
    api.delete(f"/consumers/inv2/key-auth/{cred['id']}")
    until_uncached(gw, ENTITY, "inv2-key")
    assert px.get("/ka-cache", headers={"apikey": "inv2-key"}).status_code == 401
    cred = cached(gw, ENTITY, "inv3-key")[1]
    api.patch(f"/consumers/inv3/key-auth/{cred['id']}", {"key": "inv3-updated"})
    until_uncached(gw, ENTITY, "inv3-key")
    assert px.get("/ka-cache", headers={"apikey": "inv3-key"}).status_code == 401
    assert px.get("/ka-cache", headers={"apikey": "inv3-updated"}).status_code == 200
    assert cached(gw, ENTITY, "no-such-key")[0] == 404
