"""session: its configuration (Kong 3.9's defaults, shorthands and
messages) and the `sessions` entity through the Admin API."""
from __future__ import annotations

from tests.helpers.http import admin


def test_schema(client):
    api = admin(client)
    plugin = api.post("/plugins", {"name": "session"}, status=201)
    config = plugin["config"]
    assert len(config["secret"]) == 44 and config["secret"].isalnum()
    assert {k: config[k] for k in (
        "storage", "audience", "idling_timeout", "rolling_timeout", "absolute_timeout",
        "stale_ttl", "cookie_name", "cookie_path", "cookie_domain", "cookie_same_site",
        "cookie_http_only", "cookie_secure", "remember", "remember_cookie_name",
        "remember_rolling_timeout", "remember_absolute_timeout", "logout_methods",
        "logout_query_arg", "logout_post_arg", "read_body_for_logout", "request_headers",
        "response_headers")} == {
        "storage": "cookie", "audience": "default", "idling_timeout": 900,
        "rolling_timeout": 3600, "absolute_timeout": 86400, "stale_ttl": 10,
        "cookie_name": "session", "cookie_path": "/", "cookie_domain": None,
        "cookie_same_site": "Strict", "cookie_http_only": True, "cookie_secure": True,
        "remember": False, "remember_cookie_name": "remember",
        "remember_rolling_timeout": 604800, "remember_absolute_timeout": 2592000,
        "logout_methods": ["POST", "DELETE"], "logout_query_arg": "session_logout",
        "logout_post_arg": "session_logout", "read_body_for_logout": False,
        "request_headers": None, "response_headers": None}
    api.delete(f"/plugins/{plugin['id']}")
    # the deprecated shorthands
    plugin = api.post("/plugins", {"name": "session", "config": {
        "cookie_lifetime": 100, "cookie_idletime": 50, "cookie_discard": 3,
        "cookie_samesite": "off", "cookie_httponly": False, "cookie_persistent": True,
        "cookie_renew": 10}}, status=201)
    config = plugin["config"]
    assert (config["rolling_timeout"], config["idling_timeout"], config["stale_ttl"],
            config["cookie_same_site"], config["cookie_http_only"], config["remember"]) == \
        (100, 50, 3, "Lax", False, True)
    api.delete(f"/plugins/{plugin['id']}")
    for config, field in (({"cookie_same_site": "Sometimes"}, "cookie_same_site"),
                          ({"logout_methods": ["PUT"]}, "logout_methods"),
                          ({"response_headers": ["everything"]}, "response_headers"),
                          ({"storage": "redis"}, "storage"),
                          ({"unknown": 1}, "unknown")):
        resp = api.post("/plugins", {"name": "session", "config": config}, status=400)
        assert field in resp["fields"]["config"], resp
    bob = api.post("/consumers", {"username": "bob"})
    resp = api.post("/plugins", {"name": "session", "consumer": {"id": bob["id"]}},
                    status=400)
    assert "consumer" in resp["fields"]


def test_sessions_entity(client):
    api = admin(client)
    row = api.post("/sessions", {"session_id": "sid-1", "data": "payload", "expires": 123})
    assert {k: row[k] for k in ("session_id", "data", "expires")} == {
        "session_id": "sid-1", "data": "payload", "expires": 123}
    assert api.get("/sessions/sid-1") == row
    assert api.get(f"/sessions/{row['id']}") == row
    api.post("/sessions", {"session_id": "sid-1"}, status=409)
    resp = api.post("/sessions", {"data": "x"}, status=400)
    assert resp["fields"] == {"session_id": "required field missing"}
    api.delete("/sessions/sid-1")
    api.get("/sessions/sid-1", status=404)
