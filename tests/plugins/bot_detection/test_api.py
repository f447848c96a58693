"""bot-detection's configuration through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "bot-detection"})
    assert plugin["config"] == {"allow": [], "deny": []}


def test_regex_lists(client):
    api = admin(client)
    plugin = api.post("/plugins", {"name": "bot-detection",
                                   "config": {"allow": ["Googlebot"], "deny": [r"^curl/\d"]}})
    assert plugin["config"]["deny"] == [r"^curl/\d"]
    body = api.post("/plugins", {"name": "bot-detection", "config": {"deny": ["(oops"]}}, 400)
    assert body["fields"] == {"config": {"deny": ["not a valid regex: (oops"]}}
    api.post("/consumers", {"username": "bob"})
    body = api.post("/plugins", {"name": "bot-detection", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
