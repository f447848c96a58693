"""request-termination: Admin API changes reach the proxy without a restart:
the instance, its status and message, and the route it is scoped to."""
from __future__ import annotations

from tests.helpers.http import admin, proxy
from tests.helpers.invalidations import add_consumer, check_instance_lifecycle


def _answer(gw, path: str) -> tuple[int, str | None]:
    resp = proxy(gw).get(path)
    return resp.status_code, resp.json().get("message")


def test_instance_lifecycle(gateway, svc):
    gw = gateway
    route = gw.route("/rt-life")
    gw.wait_sync()
    check_instance_lifecycle(gw, f"/routes/{route['id']}", {"name": "request-termination"},
                             {"status_code": 403, "message": "Go away"},
                             lambda: _answer(gw, "/rt-life"), off=(200, None),
                             on=(503, "Service unavailable"), patched=(403, "Go away"))


def test_instance_moved_to_another_route(gateway, svc):
    gw = gateway
    first = gw.route("/rt-first", {"name": "request-termination"})
    second = gw.route("/rt-second")
    gw.wait_sync()
    assert (_answer(gw, "/rt-first")[0], _answer(gw, "/rt-second")[0]) == (503, 200)
    instance = admin(gw).get(f"/routes/{first['id']}/plugins")["data"][0]
    admin(gw).patch(f"/plugins/{instance['id']}", {"route": {"id": second["id"]}})
    gw.wait_sync()
    assert (_answer(gw, "/rt-first")[0], _answer(gw, "/rt-second")[0]) == (200, 503)


def test_consumer_scoped_instance(gateway, svc):
    """An instance for one consumer, behind key-auth: moved to another consumer,
    then gone with that consumer."""
    gw, api = gateway, admin(gateway)
    gw.route("/rt-consumer", {"name": "key-auth"})
    for name in ("ann", "ben"):
        add_consumer(gw, name, {"key-auth": {"key": f"{name}-key"}})
    instance = api.post("/consumers/ann/plugins", {"name": "request-termination"})
    gw.wait_sync()

    def statuses() -> tuple[int, int]:
        return tuple(proxy(gw).get("/rt-consumer", headers={"apikey": key}).status_code
                     for key in ("ann-key", "ben-key"))

    assert statuses() == (503, 200)
    api.patch(f"/plugins/{instance['id']}", {"consumer": {"username": "ben"}})
    gw.wait_sync()
    assert statuses() == (200, 503)
    api.delete("/consumers/ben")
    gw.wait_sync()
    assert statuses() == (200, 401)
    api.get(f"/plugins/{instance['id']}", status=404)
