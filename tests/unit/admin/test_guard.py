"""Origin and Host checks of the Admin API: refused before routing, body or datastore.

These do not depend on the datastore, so they run on SQLite only (one of them
on an unreachable PostgreSQL, to show the refusal never reaches it).
"""
from __future__ import annotations

import socket

import pytest
from werkzeug.test import create_environ, run_wsgi_app

from kongpy import adminsec
from kongpy.admin import close_app, create_app

UI = "https://ui.example"
EVIL = "https://evil.example"


@pytest.fixture
def make_client(tmp_path):
    apps = []

    def build(**settings):
        config = {"database": "sqlite", "sqlite_path": str(tmp_path / "guard.db"),
                  "admin_listen": ["127.0.0.1:8001"], **settings}
        app = create_app(config)
        apps.append(app)
        return app.test_client()
    yield build
    for app in apps:
        close_app(app)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_foreign_origin_is_refused_and_nothing_is_created(make_client):
    client = make_client(admin_allowed_origins=UI)
    resp = client.post("/services", json={"name": "s", "url": "http://a.test"},
                       headers={"Origin": EVIL})
    assert resp.status_code == 403 and resp.get_json() == {"message": "origin not allowed"}
    assert resp.status == "403 Forbidden"
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert resp.headers["Vary"] == "Origin"
    assert client.get("/services").get_json()["data"] == []


@pytest.mark.parametrize("origin", [EVIL, "null", "", "https://ui.example.evil.test",
                                    "http://ui.example", "https://ui.example:8443"])
def test_every_foreign_origin_is_refused_even_preflights(make_client, origin):
    client = make_client(admin_allowed_origins=UI)
    for method in ("GET", "OPTIONS", "DELETE"):
        resp = client.open("/services", method=method, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert resp.status_code == 403, (method, origin)
        assert resp.get_json() == {"message": "origin not allowed"}


def test_refusal_comes_before_routing_body_and_datastore(tmp_path):
    # An unreachable PostgreSQL: anything that reached it would answer 503.
    app = create_app({"database": "postgres", "pg_host": "127.0.0.1",
                      "pg_port": _closed_port(), "pg_timeout": 1000,
                      "admin_listen": ["127.0.0.1:8001"]})
    client = app.test_client()
    assert client.get("/services").status_code == 503
    for path, kwargs in (("/services", {"json": {"name": "s"}}), ("/nowhere", {}),
                         ("/services", {"data": "{not json",
                                        "content_type": "application/json"})):
        assert client.post(path, headers={"Origin": EVIL}, **kwargs).status_code == 403
        assert client.post(path, headers={"Host": "evil.example"}, **kwargs).get_json() == {
            "message": "host not allowed"}


def test_allowed_origins_get_credentials(make_client):
    client = make_client(admin_gui_url="http://manager.example:8002/manager/",
                         admin_allowed_origins=f"{UI}:443, http://[::1]:3000")
    for origin in ("http://manager.example:8002", UI, "http://[::1]:3000"):
        resp = client.post("/services", json={"url": "http://a.test"},
                           headers={"Origin": origin})
        assert resp.status_code == 201, (origin, resp.get_json())
        assert resp.headers["Access-Control-Allow-Origin"] == origin
        assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        assert resp.headers["Vary"] == "Origin"


def test_preflight_of_an_allowed_origin(make_client):
    client = make_client(admin_allowed_origins=UI)
    resp = client.options("/services/x", headers={
        "Origin": UI, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "Kong-Admin-Token,Content-Type"})
    assert resp.status_code == 204
    assert resp.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    assert resp.headers["Access-Control-Allow-Methods"] == resp.headers["Allow"]
    assert resp.headers["Access-Control-Allow-Headers"] == "Kong-Admin-Token,Content-Type"
    assert resp.headers["Access-Control-Allow-Origin"] == UI


@pytest.mark.parametrize("gui_url, expected", [
    (None, "*"),
    ("http://admin.api:9100", "http://admin.api:9100"),
    ("http://admin.api:9100/path/to/any/way", "http://admin.api:9100"),
])
def test_requests_without_origin_keep_kongs_answer(make_client, gui_url, expected):
    client = make_client(admin_gui_url=gui_url)
    for resp in (client.get("/"), client.options("/")):
        assert resp.status_code in (200, 204)
        assert resp.headers["Access-Control-Allow-Origin"] == expected
    assert client.options("/").headers["Access-Control-Allow-Headers"] == "Content-Type"
    main = client.get("/", headers={"Access-Control-Request-Method": "PATCH"})
    assert "Access-Control-Allow-Methods" not in main.headers


@pytest.mark.parametrize("host", [
    "localhost", "LOCALHOST:8001", "localhost.", "127.0.0.1", "127.0.0.1:9999", "10.1.2.3",
    "[::1]:8001", "[2001:db8::1]", "admin.internal:8001", "admin.internal",
    "Admin.Example.COM", "admin.example.com:443", "kong_admin:8001", "",
])
def test_allowed_hosts(make_client, host):
    client = make_client(admin_listen=["127.0.0.1:8001", "admin.internal:8001"],
                         admin_server_names="admin.example.com, kong_admin")
    assert client.get("/", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:8001", "admin.internal:9999", "127.0.0.1.evil.example",
    "sub.localhost", "::1", "[::1", "[evil.example]", "localhost:x", "localhost:70000",
    "a b",
])
def test_refused_hosts(make_client, host):
    client = make_client(admin_listen=["127.0.0.1:8001", "admin.internal:8001"],
                         admin_server_names="admin.example.com")
    resp = client.get("/", headers={"Host": host})
    assert resp.status_code == 403, host
    assert resp.get_json() == {"message": "host not allowed"}


def test_no_host_header_passes(make_client):
    client = make_client()
    environ = create_environ("/services", method="GET")
    del environ["HTTP_HOST"]
    _body, status, _headers = run_wsgi_app(client.application, environ)
    assert status.startswith("200")


def test_origin_normalisation():
    assert adminsec.origin_of("HTTPS://UI.Example:443/app?x#y") == UI
    assert adminsec.origin_of("http://[::1]:80/") == "http://[::1]"
    assert adminsec.request_origin("https://ui.example/") == UI
    assert adminsec.request_origin("null") is None
    assert adminsec.split_host("[::1]:8001") == ("::1", 8001)
    assert adminsec.split_host("Admin.Example.:80") == ("admin.example", 80)


@pytest.mark.parametrize("headers, server, latency", [
    (["server_tokens", "latency_tokens"], True, True),
    ([], False, False),
    (["server_tokens"], True, False),
    (["x-kong-admin-latency"], False, True),
])
def test_headers_setting_governs_server_and_admin_latency(make_client, headers, server,
                                                          latency):
    client = make_client(headers=headers)
    for resp in (client.get("/status"), client.get("/nope"),
                 client.get("/", headers={"Host": "evil.example"})):
        assert ("Server" in resp.headers) is server, resp.status_code
    assert ("X-Kong-Admin-Latency" in client.get("/status").headers) is latency


def test_the_nodes_own_gui_may_call_it(make_client):
    """Without admin_gui_url, the pages of admin_gui_listen are allowed origins
    (and only them); the answer to requests without an Origin stays Kong's."""
    client = make_client(admin_gui_listen="127.0.0.1:8002")
    for origin in ("http://127.0.0.1:8002", "http://localhost:8002"):
        resp = client.get("/services", headers={"Origin": origin})
        assert resp.status_code == 200, origin
        assert resp.headers["Access-Control-Allow-Origin"] == origin
    for origin in ("http://127.0.0.1:8003", "https://127.0.0.1:8002", EVIL):
        assert client.get("/services", headers={"Origin": origin}).status_code == 403, origin
    assert client.get("/").headers["Access-Control-Allow-Origin"] == "*"
    assert make_client(admin_gui_listen="off").get(
        "/", headers={"Origin": "http://127.0.0.1:8002"}).status_code == 403


def test_admin_gui_url_replaces_the_listen_origins(make_client):
    client = make_client(admin_gui_listen="127.0.0.1:8002", admin_gui_url=UI)
    assert client.get("/", headers={"Origin": UI}).status_code == 200
    assert client.get("/", headers={"Origin": "http://127.0.0.1:8002"}).status_code == 403
