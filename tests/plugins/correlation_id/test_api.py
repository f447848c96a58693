"""correlation-id's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "correlation-id"})
    assert plugin["config"] == {"header_name": "Kong-Request-ID", "generator": "uuid#counter",
                                "echo_downstream": False}


def test_messages_and_consumer_scope(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "correlation-id", "config": {"generator": "random"}},
                    400)
    assert body["fields"] == {"config": {
        "generator": "expected one of: uuid, uuid#counter, tracker"}}
    body = api.post("/plugins", {"name": "correlation-id", "config": {"header_name": ""}}, 400)
    assert body["fields"] == {"config": {"header_name": "length must be at least 1"}}
    api.post("/consumers", {"username": "bob"})
    plugin = api.post("/plugins", {"name": "correlation-id", "consumer": {"username": "bob"},
                                   "config": {"generator": "tracker", "echo_downstream": True}})
    assert plugin["config"]["generator"] == "tracker"
