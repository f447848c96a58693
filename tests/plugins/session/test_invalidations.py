"""session: Admin API changes reach the proxy without a restart: the
instance and its config (a new secret ends the sessions made with the old
one), and the consumer a session holds."""
from __future__ import annotations

from tests.helpers.http import admin, proxy
from tests.helpers.invalidations import add_consumer
from tests.helpers.sessions import (SECRET, cookie_header, cookie_values, session_conf,
                                    set_cookies)


def test_instance_lifecycle_and_secret(gateway, svc):
    gw, px, api = gateway, proxy(gateway), admin(gateway)
    gw.create("/consumers", {"username": "anon"})
    add_consumer(gw, "bob", {"key-auth": {"key": "bob-key"}})
    route = gw.route("/s-life", {"name": "key-auth", "config": {"anonymous": "anon"}})
    gw.wait_sync()
    assert "session" not in cookie_values(px.get("/s-life", headers={"apikey": "bob-key"}))
    plugin = gw.create(f"/routes/{route['id']}/plugins", session_conf())
    gw.wait_sync()
    value = cookie_values(px.get("/s-life", headers={"apikey": "bob-key"}))["session"]

    def who() -> str | None:
        resp = px.get("/s-life", headers=cookie_header({"session": value}))
        return resp.json()["headers"].get("x-consumer-username")

    assert who() == "bob"
    for body, expected in (({"enabled": False}, "anon"), ({"enabled": True}, "bob"),
                           ({"config": {"secret": SECRET + " rotated"}}, "anon")):
        api.patch(f"/plugins/{plugin['id']}", body)
        gw.wait_sync()
        assert who() == expected, body
    api.delete(f"/plugins/{plugin['id']}")
    gw.wait_sync()
    assert "session" not in cookie_values(px.get("/s-life", headers={"apikey": "bob-key"}))


def test_consumer_changes(gateway, svc):
    gw, px, api = gateway, proxy(gateway), admin(gateway)
    gw.create("/consumers", {"username": "anon-c"})
    gw.route("/s-consumer", session_conf(), {"name": "key-auth",
                                             "config": {"anonymous": "anon-c"}})
    consumer, _ = add_consumer(gw, "dora", {"key-auth": {"key": "dora-key"}})
    value = cookie_values(px.get("/s-consumer", headers={"apikey": "dora-key"}))["session"]

    def seen():
        resp = px.get("/s-consumer", headers=cookie_header({"session": value}))
        return resp, resp.json()["headers"]

    assert seen()[1]["x-consumer-username"] == "dora"
    api.patch(f"/consumers/{consumer['id']}", {"username": "dora-renamed", "custom_id": "c-d"})
    gw.wait_sync()
    headers = seen()[1]
    assert (headers["x-consumer-username"], headers["x-consumer-custom-id"]) == \
        ("dora-renamed", "c-d")
    api.delete(f"/consumers/{consumer['id']}")
    gw.wait_sync()
    resp, headers = seen()  # the session of a deleted consumer is destroyed
    assert headers["x-consumer-username"] == "anon-c"
    assert "Max-Age=0" in set_cookies(resp)["session"]
