"""acl: its groups (the acls entity) through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_groups(client):
    api = admin(client)
    bob = api.post("/consumers", {"username": "bob"})
    acl = api.post("/consumers/bob/acls", {"group": "gold"})
    assert api.get("/consumers/bob/acls/gold") == acl
    dup = api.post("/consumers/bob/acls", {"group": "gold"}, 409)
    assert dup["fields"] == {"consumer": {"id": bob["id"]}, "group": "gold"}
    assert api.get("/acls")["data"] == [acl]
    api.delete("/consumers/bob")
    assert api.get("/acls") == {"data": [], "next": None}
