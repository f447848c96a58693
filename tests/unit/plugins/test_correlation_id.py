"""correlation-id's configuration through the Admin API."""
from __future__ import annotations


def _post(client, body, status=201):
    resp = client.post("/plugins", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_defaults(client):
    plugin = _post(client, {"name": "correlation-id"})
    assert plugin["config"] == {"header_name": "Kong-Request-ID", "generator": "uuid#counter",
                                "echo_downstream": False}


def test_messages_and_consumer_scope(client):
    body = _post(client, {"name": "correlation-id", "config": {"generator": "random"}}, 400)
    assert body["fields"] == {"config": {
        "generator": "expected one of: uuid, uuid#counter, tracker"}}
    body = _post(client, {"name": "correlation-id", "config": {"header_name": ""}}, 400)
    assert body["fields"] == {"config": {"header_name": "length must be at least 1"}}
    assert client.post("/consumers", json={"username": "bob"}).status_code == 201
    plugin = _post(client, {"name": "correlation-id", "consumer": {"username": "bob"},
                            "config": {"generator": "tracker", "echo_downstream": True}})
    assert plugin["config"]["generator"] == "tracker"
