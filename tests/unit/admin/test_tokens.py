"""Token authentication of the Admin API (admin_auth = token), on every datastore,
and the per-worker token cache behind it."""
from __future__ import annotations

import logging
import threading

import pytest

import kongpy.db
from kongpy.admin import close_app, create_app
from kongpy.admin.tokens import TokenCache
from kongpy.db import admin_tokens
from kongpy.db.admin_tokens import Holder
from kongpy.errors import TokensUnavailable
from tests.helpers.datastores import clean

NO_CREDENTIALS = {"message": "Invalid credentials. Token or User credentials required"}
UI = "https://ui.example"


@pytest.fixture
def secured(backend, tmp_path):
    """An Admin API with admin_auth = token, and a read-write and a read-only token."""
    handle = kongpy.db.open(backend)
    try:
        clean(handle)
        tokens = {"rw": admin_tokens.create(handle.strategy, "deployer"),
                  "ro": admin_tokens.create(handle.strategy, "auditor", read_only=True)}
    finally:
        handle.close()
    app = create_app({**backend, "prefix": str(tmp_path), "admin_auth": "token",
                      "admin_listen": ["127.0.0.1:8001"], "admin_allowed_origins": UI})
    yield app.test_client(), tokens
    close_app(app)


def _as(token: str) -> dict:
    return {"Kong-Admin-Token": token}


def test_missing_or_unknown_token_is_401(secured):
    client, tokens = secured
    for headers in ({}, _as(""), _as("nope"), _as(tokens["rw"] + "x"),
                    _as(admin_tokens.hash_token(tokens["rw"]))):
        for method in ("GET", "POST", "DELETE"):
            resp = client.open("/services", method=method, headers=headers)
            assert resp.status_code == 401, (method, headers)
            assert resp.get_json() == NO_CREDENTIALS


def test_read_write_token(secured):
    client, tokens = secured
    resp = client.post("/services", json={"name": "s1", "url": "http://a.test"},
                       headers=_as(tokens["rw"]))
    assert resp.status_code == 201, resp.get_json()
    assert client.patch("/services/s1", json={"port": 81},
                        headers=_as(tokens["rw"])).status_code == 200
    assert client.delete("/services/s1", headers=_as(tokens["rw"])).status_code == 204


def test_read_only_token_may_only_read(secured):
    client, tokens = secured
    ro = _as(tokens["ro"])
    assert client.get("/services", headers=ro).status_code == 200
    assert client.head("/services", headers=ro).status_code == 200
    assert client.get("/", headers=ro).status_code == 200
    for method, action in (("POST", "create"), ("PUT", "update"), ("PATCH", "update"),
                           ("DELETE", "delete")):
        resp = client.open("/services/s1", method=method, json={"url": "http://a.test"},
                           headers=ro)
        assert resp.status_code == 403, method
        assert resp.get_json() == {
            "message": f"auditor, you do not have permissions to {action} this resource"}
    assert client.get("/services", headers=ro).get_json()["data"] == []


def test_preflights_need_no_token_but_origin_comes_first(secured):
    client, _tokens = secured
    resp = client.options("/services", headers={
        "Origin": UI, "Access-Control-Request-Headers": "Kong-Admin-Token"})
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Headers"] == "Kong-Admin-Token"
    # A foreign origin learns nothing, not even that a token is wanted.
    resp = client.get("/services", headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403 and resp.get_json() == {"message": "origin not allowed"}
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 403
    # The browser interface may read the 401 (its CORS headers are there).
    resp = client.get("/services", headers={"Origin": UI})
    assert resp.status_code == 401 and resp.headers["Access-Control-Allow-Origin"] == UI


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Store:
    """Stands in for the datastore read: counts reads, can fail."""

    def __init__(self, known: dict[str, Holder]) -> None:
        self.known = known
        self.reads = 0
        self.down = False

    def __call__(self) -> dict[str, Holder]:
        self.reads += 1
        if self.down:
            raise OSError("datastore down")
        return dict(self.known)


def test_cache_reads_the_datastore_at_most_once_per_period():
    clock, store = _Clock(), _Store({admin_tokens.hash_token("t1"): Holder("a", False)})
    cache = TokenCache(store, refresh_s=0.5, clock=clock)
    for _ in range(100):
        assert cache.find("t1") == Holder("a", False)
        assert cache.find("t2") is None
    assert store.reads == 1
    store.known = {}  # revoked
    clock.now += 0.4
    assert cache.find("t1") is not None and store.reads == 1
    clock.now += 0.1
    assert cache.find("t1") is None and store.reads == 2


def test_cache_keeps_the_last_good_set_while_the_datastore_is_down(caplog):
    clock, store = _Clock(), _Store({admin_tokens.hash_token("t1"): Holder("a", True)})
    cache = TokenCache(store, refresh_s=0.5, clock=clock)
    assert cache.find("t1") == Holder("a", True)
    store.down = True
    with caplog.at_level(logging.INFO, logger="kongpy.admin.tokens"):
        for _ in range(5):
            clock.now += 1
            assert cache.find("t1") == Holder("a", True)
        assert store.reads == 6
        store.down = False
        clock.now += 1
        assert cache.find("t1") == Holder("a", True)
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "cannot read the admin tokens" in m]) == 1
    assert "admin tokens readable again" in messages


def test_no_request_waits_for_another_requests_refresh():
    clock = _Clock()
    known = {admin_tokens.hash_token("t1"): Holder("a", False)}
    inside, leave = threading.Event(), threading.Event()
    reads = []

    def slow_load() -> dict[str, Holder]:
        reads.append(1)
        if len(reads) > 1:  # the datastore went silent after the first read
            inside.set()
            leave.wait(10)
        return dict(known)

    cache = TokenCache(slow_load, refresh_s=0.5, clock=clock)
    assert cache.find("t1") == Holder("a", False)
    clock.now += 1
    refresher = threading.Thread(target=cache.find, args=("t1",))
    refresher.start()
    try:
        assert inside.wait(10)
        # The refresh hangs; this request answers from the set already known.
        assert cache.find("t1") == Holder("a", False) and len(reads) == 2
    finally:
        leave.set()
        refresher.join(10)


def test_cache_with_no_good_set_yet_is_unavailable():
    clock, store = _Clock(), _Store({})
    store.down = True
    cache = TokenCache(store, refresh_s=0.5, clock=clock)
    with pytest.raises(TokensUnavailable):
        cache.find("t1")
    assert store.reads == 1
    with pytest.raises(TokensUnavailable):
        cache.find("t1")
    assert store.reads == 1  # retried once per period, not per request


def test_no_token_set_yet_answers_503(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app({"database": "postgres", "pg_host": "127.0.0.1", "pg_port": port,
                      "pg_timeout": 1000, "admin_auth": "token",
                      "admin_listen": ["127.0.0.1:8001"]})
    resp = app.test_client().get("/services", headers=_as("anything"))
    assert resp.status_code == 503
    assert resp.get_json() == {
        "message": "cannot check credentials while the datastore is unreachable"}
