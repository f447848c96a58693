"""request-size-limiting's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "request-size-limiting"})
    assert plugin["config"] == {"allowed_payload_size": 128, "size_unit": "megabytes",
                                "require_content_length": False}


def test_messages(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "request-size-limiting",
                                 "config": {"size_unit": "gigabytes"}}, 400)
    assert body["fields"] == {"config": {
        "size_unit": "expected one of: megabytes, kilobytes, bytes"}}
    body = api.post("/plugins", {"name": "request-size-limiting",
                                 "config": {"allowed_payload_size": 1.5}}, 400)
    assert body["fields"] == {"config": {"allowed_payload_size": "expected an integer"}}
    plugin = api.post("/plugins", {"name": "request-size-limiting", "config": {
        "allowed_payload_size": 10, "size_unit": "bytes", "require_content_length": True}})
    assert plugin["config"]["size_unit"] == "bytes"
