"""ip-restriction's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults_and_protocols(client):
    plugin = admin(client).plugin("ip-restriction", {"deny": ["10.0.0.0/8"]})
    assert plugin["config"] == {"allow": None, "deny": ["10.0.0.0/8"], "status": None,
                                "message": None}
    assert plugin["protocols"] == ["http", "https", "tcp", "tls", "grpc", "grpcs"]
    assert plugin["consumer"] is None


def test_accepts_addresses_and_ranges(client):
    config = {"allow": ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "::ffff:10.0.0.0/104"],
              "status": 401, "message": "go away"}
    assert admin(client).plugin("ip-restriction", config)["config"]["status"] == 401


def test_messages(client):
    body = admin(client).plugin("ip-restriction", {}, 400)
    assert body["fields"] == {"@entity": [
        "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]}
    body = admin(client).plugin("ip-restriction", {"allow": [], "deny": []}, 400)
    assert "@entity" in body["fields"]
    for bad in ("1.2.3.4/33", "nope", "::1/129", "10.0.0.0/255.0.0.0", "fe80::1%eth0"):
        body = admin(client).plugin("ip-restriction", {"deny": [bad]}, 400)
        # Kong prints a nested error table one entry per line
        assert body["message"] == (f"schema violation (config.deny: {{\n"
                                   f"  \"invalid ip or cidr range: '{bad}'\"\n}})"), bad
        assert body["fields"] == {"config": {"deny": [f"invalid ip or cidr range: '{bad}'"]}}
    body = admin(client).plugin("ip-restriction", {"deny": ["1.1.1.1"], "status": "x"}, 400)
    assert body["fields"] == {"config": {"status": "expected a number"}}
