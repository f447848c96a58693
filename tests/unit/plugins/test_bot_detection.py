"""bot-detection's configuration through the Admin API."""
from __future__ import annotations


def _post(client, body, status=201):
    resp = client.post("/plugins", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_defaults(client):
    plugin = _post(client, {"name": "bot-detection"})
    assert plugin["config"] == {"allow": [], "deny": []}


def test_regex_lists(client):
    plugin = _post(client, {"name": "bot-detection",
                            "config": {"allow": ["Googlebot"], "deny": [r"^curl/\d"]}})
    assert plugin["config"]["deny"] == [r"^curl/\d"]
    body = _post(client, {"name": "bot-detection", "config": {"deny": ["(oops"]}}, 400)
    assert body["fields"] == {"config": {"deny": "not a valid regex: (oops"}}
    assert client.post("/consumers", json={"username": "bob"}).status_code == 201
    body = _post(client, {"name": "bot-detection", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
