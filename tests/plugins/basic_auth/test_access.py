"""basic-auth through a real node: Kong 3.9's messages and headers, PBKDF2
passwords checked by the data plane, legacy SHA-1 rows re-hashed."""
from __future__ import annotations

import base64
import time

import pytest

from tests.helpers.gateway import control_request
from tests.helpers.http import admin, basic, proxy
from tests.helpers.imported import import_basic_auth


@pytest.fixture(scope="module")
def bob_basic(gateway):
    """The consumer ``bob`` with the basic-auth credential bob:pw."""
    consumer = gateway.create("/consumers", {"username": "bob"})
    gateway.create("/consumers/bob/basic-auth", {"username": "bob", "password": "pw"})
    return consumer


def test_basic_auth(gateway, svc, bob_basic):
    gw, px = gateway, proxy(gateway)
    gw.route("/ba", {"name": "basic-auth"})
    gw.route("/ba-hide", {"name": "basic-auth", "config": {"hide_credentials": True}})
    gw.wait_sync()
    for headers in ({}, {"Authorization": "Basic %%%not-base64"},
                    {"Authorization": basic("bob", "wrong")},
                    {"Authorization": basic("nobody", "pw")},
                    {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}):
        resp = px.get("/ba", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["message"] == "Unauthorized"
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="service"'
    seen = px.get("/ba", headers={"Authorization": basic("bob", "pw")}).json()["headers"]
    assert seen["x-credential-identifier"] == "bob"
    assert seen["x-consumer-id"] == bob_basic["id"]
    assert "authorization" in seen
    resp = px.get("/ba", headers={"Proxy-Authorization": basic("bob", "pw")})
    assert resp.status_code == 200
    seen = px.get("/ba-hide", headers={"Authorization": basic("bob", "pw")}).json()
    assert "authorization" not in seen["headers"]


def test_basic_auth_password_storage(gateway, svc, bob_basic):
    gw, px, api = gateway, proxy(gateway), admin(gateway)
    gw.route("/ba-store", {"name": "basic-auth"})
    api.post("/consumers/bob/basic-auth", {"username": "carol", "password": "pw2"})
    gw.wait_sync()
    stored = api.get("/basic-auths/carol")["password"]
    assert stored.startswith("$pbkdf2-sha256$i=10000$")
    for _ in range(3):  # the first success derives, the next ones hit the cache
        resp = px.get("/ba-store", headers={"Authorization": basic("carol", "pw2")})
        assert resp.status_code == 200
        resp = px.get("/ba-store", headers={"Authorization": basic("carol", "pw")})
        assert resp.status_code == 401
        assert resp.json()["message"] == "Unauthorized"
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="service"'
    api.patch("/basic-auths/carol", {"password": "pw3"})
    gw.wait_sync()
    assert px.get("/ba-store", headers={"Authorization": basic("carol", "pw2")}) \
        .status_code == 401
    assert px.get("/ba-store", headers={"Authorization": basic("carol", "pw3")}) \
        .status_code == 200


def test_legacy_basic_auth_is_rehashed(gateway, svc, bob_basic):
    gw, px, api = gateway, proxy(gateway), admin(gateway)

    def stored_password() -> str:
        return api.get("/basic-auths/dave")["password"]

    gw.route("/ba-legacy", {"name": "basic-auth"})
    database = gw.open_db()
    try:  # a row as Kong stored it: SHA-1 hex of password .. consumer id
        legacy = import_basic_auth(database, bob_basic["id"], "dave", "old-pw")
    finally:
        database.close()
    gw.wait_sync()
    assert stored_password() == legacy["password"]
    assert px.get("/ba-legacy", headers={"Authorization": basic("dave", "wrong")}) \
        .status_code == 401
    time.sleep(1.5)  # a failed login queues nothing: still Kong's hash after a sync round
    assert stored_password() == legacy["password"]
    resp = px.get("/ba-legacy", headers={"Authorization": basic("dave", "old-pw")})
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-credential-identifier"] == "dave"
    deadline = time.monotonic() + 5
    stored = legacy["password"]
    while stored == legacy["password"] and time.monotonic() < deadline:
        time.sleep(0.1)
        stored = stored_password()
    assert stored.startswith("$pbkdf2-sha256$i=10000$"), "not re-hashed within 5 s"
    gw.wait_sync()
    assert gw.dataplane_config()["rehash_queued"] == 0
    assert control_request(gw.prefix, "POST", "/rehash") == (200, {"rehash": []})
    assert control_request(gw.prefix, "GET", "/rehash")[0] == 405
    for _ in range(2):
        assert px.get("/ba-legacy", headers={"Authorization": basic("dave", "old-pw")}) \
            .status_code == 200
        assert px.get("/ba-legacy", headers={"Authorization": basic("dave", "wrong")}) \
            .status_code == 401
    assert stored_password() == stored
    logs = "".join(p.read_text(errors="replace") for p in (gw.prefix / "logs").iterdir()
                   if p.is_file())
    for secret in ("old-pw", legacy["password"], stored.rsplit("$", 1)[1]):
        assert secret not in logs
