"""Configuration history on a running node: Admin API writes become versions, and a
rollback is served by the proxy without a restart (its cluster events reach the
sync loop like any other change)."""
from __future__ import annotations

import time

import requests

from tests.helpers.http import admin


def settled(node, api):
    """The history once it holds the datastore's latest version: versions are
    recorded off the request path, by the Admin API worker that took the write."""
    wanted = node.db_version()
    deadline = time.monotonic() + 10
    while True:
        entries = api.get("/config/history")["data"]
        if entries and entries[0]["event_version"] >= wanted:
            return entries
        assert time.monotonic() < deadline, f"no version for {wanted}: {entries[:1]}"
        time.sleep(0.05)


def test_history_and_rollback_are_served(node, echo):
    api = admin(node)
    api.post("/services", {"name": "hist", "url": echo.url})
    settled(node, api)
    route = api.post("/services/hist/routes", {"name": "hist-r", "paths": ["/one"]})
    node.wait_sync()
    assert requests.get(node.proxy + "/one", timeout=10).status_code == 200
    good = settled(node, api)[0]
    assert good["summary"] == {"routes": {"created": 1, "updated": 0, "deleted": 0}}

    api.patch(f"/routes/{route['id']}", {"paths": ["/two"]})
    node.wait_sync()
    settled(node, api)
    assert requests.get(node.proxy + "/two", timeout=10).status_code == 200
    api.delete(f"/routes/{route['id']}")
    node.wait_sync()
    assert requests.get(node.proxy + "/one", timeout=10).status_code == 404
    assert requests.get(node.proxy + "/two", timeout=10).status_code == 404

    listed = settled(node, api)
    base = good["version"]
    assert [e["version"] for e in listed[:3]] == [base + 2, base + 1, base]
    assert [e["summary"] for e in listed[:2]] == [
        {"routes": {"created": 0, "updated": 0, "deleted": 1}},
        {"routes": {"created": 0, "updated": 1, "deleted": 0}}]
    changed = api.get(f"/config/history/{good['version'] + 1}/diff")
    assert changed["changes"]["routes"]["changed"][0]["fields"]["paths"] == {
        "old": ["/one"], "new": ["/two"]}

    restored = api.post(f"/config/rollback/{good['version']}")
    assert restored["rollback_of"] == good["version"]
    assert restored["summary"] == {"routes": {"created": 1, "updated": 0, "deleted": 0}}
    node.wait_sync()
    served = requests.get(node.proxy + "/one/x", timeout=10)
    assert served.status_code == 200 and served.json()["name"] == "echo"
    assert requests.get(node.proxy + "/two", timeout=10).status_code == 404
    assert api.get(f"/routes/{route['id']}")["paths"] == ["/one"]
    node.assert_clean_error_log()
