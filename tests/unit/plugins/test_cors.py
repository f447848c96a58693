"""cors' configuration through the Admin API."""
from __future__ import annotations

METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


def _post(client, body, status=201):
    resp = client.post("/plugins", json=body)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_defaults(client):
    plugin = _post(client, {"name": "cors"})
    assert plugin["config"] == {
        "origins": None, "headers": None, "exposed_headers": None, "methods": METHODS,
        "max_age": None, "credentials": False, "private_network": False,
        "preflight_continue": False}
    assert plugin["protocols"] == ["grpc", "grpcs", "http", "https"]


def test_origins_are_asterisk_literal_or_regex(client):
    config = {"origins": ["*", "http://a.com", r"(.*[.])?example\.org", r"^https://(?<s>x)\.io$"],
              "methods": ["GET"], "max_age": 3600, "credentials": True}
    assert _post(client, {"name": "cors", "config": config})["config"]["methods"] == ["GET"]
    body = _post(client, {"name": "cors", "config": {"origins": ["(unclosed"]}}, 400)
    assert body["fields"] == {"config": {"origins": "'(unclosed' is not a valid regex"}}


def test_messages(client):
    body = _post(client, {"name": "cors", "config": {"methods": ["GET", "FETCH"]}}, 400)
    assert body["fields"] == {"config": {"methods": [
        None, "expected one of: " + ", ".join(METHODS)]}}
    body = _post(client, {"name": "cors", "config": {"credentials": "yes"}}, 400)
    assert body["fields"] == {"config": {"credentials": "expected a boolean"}}
    _post(client, {"name": "cors", "config": {"private_network": True}})
    assert client.post("/consumers", json={"username": "bob"}).status_code == 201
    body = _post(client, {"name": "cors", "consumer": {"username": "bob"}}, 400)
    assert body["fields"] == {"consumer": "value must be null"}
