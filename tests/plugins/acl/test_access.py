"""acl through a real node, behind key-auth: Kong 3.9's messages and the
X-Consumer-Groups header."""
from __future__ import annotations

from tests.helpers.http import proxy


def test_acl(gateway, svc, bob):
    gw, px = gateway, proxy(gateway)
    gw.create("/consumers/bob/acls", {"group": "gold"})
    gw.route("/acl-only", {"name": "acl", "config": {"allow": ["gold"]}})
    gw.route("/acl-allow", {"name": "key-auth"}, {"name": "acl", "config": {"allow": ["gold"]}})
    gw.route("/acl-deny", {"name": "key-auth"}, {"name": "acl", "config": {"deny": ["gold"]}})
    gw.route("/acl-other", {"name": "key-auth"},
             {"name": "acl", "config": {"allow": ["silver"], "hide_groups_header": True}})
    gw.wait_sync()
    resp = px.get("/acl-only")
    assert (resp.status_code, resp.json()["message"]) == (401, "Unauthorized")
    key = {"apikey": "bob-key", "X-Consumer-Groups": "admin"}
    seen = px.get("/acl-allow", headers=key).json()["headers"]
    assert seen["x-consumer-groups"] == "gold"
    for path in ("/acl-deny", "/acl-other"):
        resp = px.get(path, headers=key)
        assert resp.status_code == 403
        assert resp.json()["message"] == "You cannot consume this service"


def test_acl_consumer_without_groups_gets_an_empty_header(gateway, svc):
    # Kong's deny list lets a consumer without groups through with an empty
    # X-Consumer-Groups (the PDK sends an empty header value as one space)
    gw, px = gateway, proxy(gateway)
    gw.create("/consumers", {"username": "nogroups"})
    gw.create("/consumers/nogroups/key-auth", {"key": "nogroups-key"})
    gw.route("/acl-deny-none", {"name": "key-auth"},
             {"name": "acl", "config": {"deny": ["gold"]}})
    gw.wait_sync()
    resp = px.get("/acl-deny-none",
                  headers={"apikey": "nogroups-key", "X-Consumer-Groups": "spoofed"})
    assert resp.status_code == 200, resp.text
    seen = resp.json()["headers"]
    assert seen["x-consumer-groups"] == ""
    assert "x-authenticated-groups" not in seen
