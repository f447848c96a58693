"""acl: Admin API changes reach the proxy without a restart: the instance, its
allow list, the consumers' groups and the consumers themselves."""
from __future__ import annotations

import pytest

from tests.helpers.http import admin, proxy
from tests.helpers.invalidations import (add_consumer, check_consumer_changes,
                                         check_instance_lifecycle)


@pytest.fixture(scope="module")
def members(gateway):
    """``gold`` (group gold, key gold-key) and ``silver`` (group silver, key silver-key)."""
    for name in ("gold", "silver"):
        add_consumer(gateway, name, {"key-auth": {"key": f"{name}-key"}, "acls": {"group": name}})


def _status(gw, path: str, key: str) -> int:
    return proxy(gw).get(path, headers={"apikey": key}).status_code


def test_instance_lifecycle(gateway, svc, members):
    gw = gateway
    route = gw.route("/acl-life", {"name": "key-auth"})
    gw.wait_sync()

    def probe() -> tuple[int, int]:
        return _status(gw, "/acl-life", "gold-key"), _status(gw, "/acl-life", "silver-key")

    check_instance_lifecycle(gw, f"/routes/{route['id']}",
                             {"name": "acl", "config": {"allow": ["gold"]}},
                             {"allow": ["silver"]}, probe,
                             off=(200, 200), on=(200, 403), patched=(403, 200))


def test_group_changes(gateway, svc):
    gw, api = gateway, admin(gateway)
    gw.route("/acl-groups", {"name": "key-auth"}, {"name": "acl", "config": {"allow": ["gold"]}})
    add_consumer(gw, "erin", {"key-auth": {"key": "erin-key"}})
    assert _status(gw, "/acl-groups", "erin-key") == 403  # no group at all
    group = api.post("/consumers/erin/acls", {"group": "gold"})
    gw.wait_sync()
    resp = proxy(gw).get("/acl-groups", headers={"apikey": "erin-key"})
    assert (resp.status_code, resp.json()["headers"]["x-consumer-groups"]) == (200, "gold")
    api.patch(f"/acls/{group['id']}", {"group": "bronze"})
    gw.wait_sync()
    assert _status(gw, "/acl-groups", "erin-key") == 403
    api.patch(f"/acls/{group['id']}", {"group": "gold"})
    gw.wait_sync()
    assert _status(gw, "/acl-groups", "erin-key") == 200
    api.delete(f"/acls/{group['id']}")
    gw.wait_sync()
    assert _status(gw, "/acl-groups", "erin-key") == 403


def test_consumer_update_and_delete(gateway, svc):
    gw = gateway
    gw.route("/acl-consumer", {"name": "key-auth"},
             {"name": "acl", "config": {"allow": ["gold"]}})
    frank, _ = add_consumer(gw, "frank", {"key-auth": {"key": "frank-key"},
                                          "acls": {"group": "gold"}})
    check_consumer_changes(gw, frank, lambda: proxy(gw).get(
        "/acl-consumer", headers={"apikey": "frank-key"}))
