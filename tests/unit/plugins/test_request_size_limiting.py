"""request-size-limiting's configuration through the Admin API."""
from __future__ import annotations


def _post(client, body, status=201):
    resp = client.post("/plugins", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_defaults(client):
    plugin = _post(client, {"name": "request-size-limiting"})
    assert plugin["config"] == {"allowed_payload_size": 128, "size_unit": "megabytes",
                                "require_content_length": False}


def test_messages(client):
    body = _post(client, {"name": "request-size-limiting",
                          "config": {"size_unit": "gigabytes"}}, 400)
    assert body["fields"] == {"config": {
        "size_unit": "expected one of: megabytes, kilobytes, bytes"}}
    body = _post(client, {"name": "request-size-limiting",
                          "config": {"allowed_payload_size": 1.5}}, 400)
    assert body["fields"] == {"config": {"allowed_payload_size": "expected an integer"}}
    plugin = _post(client, {"name": "request-size-limiting", "config": {
        "allowed_payload_size": 10, "size_unit": "bytes", "require_content_length": True}})
    assert plugin["config"]["size_unit"] == "bytes"
