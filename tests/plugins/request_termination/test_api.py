"""request-termination's configuration through the Admin API."""
from __future__ import annotations

import pytest

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "request-termination"})
    assert plugin["config"] == {"status_code": 503, "message": None, "content_type": None,
                                "body": None, "echo": False, "trigger": None}


def test_valid_combinations(client):
    api = admin(client)
    for i, config in enumerate([{"status_code": 404, "message": "gone"},
                                {"status_code": 200, "body": "<p/>", "content_type": "text/html"},
                                {"echo": True, "trigger": "X-Debug"},
                                {"body": "raw"}]):
        api.post("/services", {"name": f"s{i}", "host": "example.com"})
        api.post(f"/services/s{i}/plugins", {"name": "request-termination", "config": config})


@pytest.mark.parametrize("config,message", [
    ({"message": "x", "body": "y"}, "message cannot be used with content_type or body"),
    ({"message": "x", "content_type": "text/plain"},
     "message cannot be used with content_type or body"),
    ({"content_type": "text/plain"}, "content_type requires a body"),
    ({"echo": True, "body": "y"}, "echo cannot be used with content_type and body"),
])
def test_custom_validator(client, config, message):
    body = admin(client).post("/plugins", {"name": "request-termination", "config": config}, 400)
    assert body["fields"] == {"config": message}
    assert body["message"] == f"schema violation (config: {message})"


def test_field_messages(client):
    api = admin(client)
    for code in (99, 600):
        body = api.post("/plugins", {"name": "request-termination",
                                     "config": {"status_code": code}}, 400)
        assert body["fields"] == {"config": {
            "status_code": "value should be between 100 and 599"}}
    body = api.post("/plugins", {"name": "request-termination",
                                 "config": {"trigger": "bad name"}}, 400)
    assert body["fields"] == {"config": {"trigger": (
        "bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'")}}
