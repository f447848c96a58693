"""redirect's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "redirect",
                                             "config": {"location": "https://example.com"}})
    assert plugin["config"] == {"status_code": 301, "location": "https://example.com",
                                "keep_incoming_path": False}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_location_required_and_a_url(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "redirect"}, 400)
    assert body["fields"] == {"config": {"location": "required field missing"}}
    body = api.post("/plugins", {"name": "redirect", "config": {"location": "not a url"}}, 400)
    assert body["fields"]["config"]["location"]


def test_status_code_range(client):
    for code in (99, 600):
        body = admin(client).post("/plugins", {"name": "redirect", "config": {
            "location": "https://example.com", "status_code": code}}, 400)
        assert body["fields"] == {"config": {
            "status_code": "value should be between 100 and 599"}}
