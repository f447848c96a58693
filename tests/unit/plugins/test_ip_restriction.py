"""ip-restriction's configuration through the Admin API."""
from __future__ import annotations


def _post(client, body, status=201):
    resp = client.post("/plugins", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_defaults_and_protocols(client):
    plugin = _post(client, {"name": "ip-restriction", "config": {"deny": ["10.0.0.0/8"]}})
    assert plugin["config"] == {"allow": None, "deny": ["10.0.0.0/8"], "status": None,
                                "message": None}
    assert plugin["protocols"] == ["http", "https", "tcp", "tls", "grpc", "grpcs"]
    assert plugin["consumer"] is None


def test_accepts_addresses_and_ranges(client):
    config = {"allow": ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "::ffff:10.0.0.0/104"],
              "status": 401, "message": "go away"}
    assert _post(client, {"name": "ip-restriction", "config": config})["config"]["status"] == 401


def test_messages(client):
    body = _post(client, {"name": "ip-restriction", "config": {}}, 400)
    assert body["fields"] == {"@entity": [
        "at least one of these fields must be non-empty: 'config.allow', 'config.deny'"]}
    body = _post(client, {"name": "ip-restriction", "config": {"allow": [], "deny": []}}, 400)
    assert "@entity" in body["fields"]
    for bad in ("1.2.3.4/33", "nope", "::1/129", "10.0.0.0/255.0.0.0", "fe80::1%eth0"):
        body = _post(client, {"name": "ip-restriction", "config": {"deny": [bad]}}, 400)
        assert body["message"] == (f"schema violation (config.deny: invalid ip or cidr range: "
                                   f"'{bad}')"), bad
    body = _post(client, {"name": "ip-restriction",
                          "config": {"deny": ["1.1.1.1"], "status": "x"}}, 400)
    assert body["fields"] == {"config": {"status": "expected a number"}}
