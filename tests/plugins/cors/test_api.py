"""cors' configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin

METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "cors"})
    assert plugin["config"] == {
        "origins": None, "headers": None, "exposed_headers": None, "methods": METHODS,
        "max_age": None, "credentials": False, "private_network": False,
        "preflight_continue": False}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_origins_are_asterisk_literal_or_regex(client):
    api = admin(client)
    config = {"origins": ["*", "http://a.com", r"(.*[.])?example\.org", r"^https://(?<s>x)\.io$"],
              "methods": ["GET"], "max_age": 3600, "credentials": True}
    assert api.post("/plugins", {"name": "cors", "config": config})["config"]["methods"] == ["GET"]
    body = api.post("/plugins", {"name": "cors", "config": {"origins": ["(unclosed"]}}, 400)
    assert body["fields"] == {"config": {"origins": ["'(unclosed' is not a valid regex"]}}


def test_messages(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "cors", "config": {"methods": ["GET", "FETCH"]}}, 400)
    assert body["fields"] == {"config": {"methods": [
        None, "expected one of: " + ", ".join(METHODS)]}}
    body = api.post("/plugins", {"name": "cors", "config": {"credentials": "yes"}}, 400)
    assert body["fields"] == {"config": {"credentials": "expected a boolean"}}
    api.post("/plugins", {"name": "cors", "config": {"private_network": True}})
    api.post("/consumers", {"username": "bob"})
    body = api.post("/plugins", {"name": "cors", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
