"""response-transformer's configuration through the Admin API (Kong 3.9's
defaults and messages)."""
from __future__ import annotations

from tests.helpers.http import admin

NAME = "response-transformer"


def _errors(client, config):
    body = admin(client).post("/plugins", {"name": NAME, "config": config}, 400)
    assert body["name"] == "schema violation"
    return body["fields"]["config"]


def test_defaults(client):
    plugin = admin(client).post("/plugins", {"name": NAME})
    typed = {"json": [], "json_types": [], "headers": []}
    assert plugin["config"] == {
        "remove": {"json": [], "headers": []}, "rename": {"json": [], "headers": []},
        "replace": typed, "add": typed, "append": typed}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_messages(client):
    fields = _errors(client, {
        "add": {"json": ["nocolon"], "json_types": ["integer"], "headers": ["x"]},
        "rename": {"headers": ["x-a:not valid"]}})
    assert fields == {
        "add": {"json": ["invalid value: nocolon"],
                "json_types": ["expected one of: boolean, number, string"],
                "headers": ["invalid value: x"]},
        "rename": {"headers": ["'not valid' is not a valid header"]}}


def test_no_if_status_in_kong_oss(client):
    fields = _errors(client, {"remove": {"if_status": ["200"]}})
    assert fields == {"remove": {"if_status": "unknown field"}}
