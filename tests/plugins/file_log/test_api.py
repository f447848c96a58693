"""file-log's configuration through the Admin API: Kong 3.9's defaults and
messages."""
from __future__ import annotations

from tests.helpers.http import admin


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": "file-log",
                                             "config": {"path": "/var/log/kong.log"}})
    assert plugin["config"] == {"path": "/var/log/kong.log", "reopen": False,
                                "custom_fields_by_lua": None}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_messages(client):
    api = admin(client)
    body = api.post("/plugins", {"name": "file-log", "config": {}}, 400)
    assert body["fields"] == {"config": {"path": "required field missing"}}
    for bad in ("/tmp/a*b", "/tmp/a&b", "/tmp/100%", "C:\\logs", "/tmp/`id`"):
        body = api.post("/plugins", {"name": "file-log", "config": {"path": bad}}, 400)
        assert body["fields"] == {"config": {"path": "not a valid filename"}}, bad
    body = api.post("/plugins", {"name": "file-log", "config": {"path": "/tmp/x",
                                                                "reopen": "sometimes"}}, 400)
    assert body["fields"] == {"config": {"reopen": "expected a boolean"}}
