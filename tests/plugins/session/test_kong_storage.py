"""session with storage = kong through a real node (two workers): the
payload lives in a `sessions` row written by the data plane through the
write channel, the cookie holds the header only; revoking the row through
the Admin API ends the session, logout deletes it."""
from __future__ import annotations

import base64
import time

import pytest

from tests.helpers import datastores
from tests.helpers.gateway import shared_datastore_nodes
from tests.helpers.http import admin, proxy
from tests.helpers.sessions import (cookie_header, cookie_values, decode, session_conf,
                                    set_cookies, wait_age)

KEY_AUTH = {"name": "key-auth", "config": {"anonymous": "anon"}}


@pytest.fixture(scope="module")
def routes(gateway, svc):
    gw = gateway
    gw.create("/consumers", {"username": "anon"})
    gw.create("/consumers", {"username": "bob"})
    gw.create("/consumers/bob/key-auth", {"key": "bob-key"})
    gw.route("/k", session_conf(storage="kong"), KEY_AUTH)
    gw.route("/k-roll", session_conf(storage="kong", rolling_timeout=6, idling_timeout=0,
                                     stale_ttl=2), KEY_AUTH)
    gw.wait_sync()
    return gw


def sid_of(value: str) -> str:
    header = base64.urlsafe_b64decode(value[:110] + "==")
    return base64.urlsafe_b64encode(header[3:35]).decode().rstrip("=")


def row(gw, session_id: str, timeout: float = 5.0) -> dict:
    """The session's row once the control plane stored it."""
    api = admin(gw)
    deadline = time.monotonic() + timeout
    while True:
        code, data = api.send("GET", f"/sessions/{session_id}", None, None)
        if code == 200:
            return data
        assert time.monotonic() < deadline, (code, data)
        time.sleep(0.1)


def who(gw, path: str, value: str) -> str | None:
    resp = proxy(gw).get(path, headers=cookie_header({"session": value}))
    assert resp.status_code == 200, resp.text
    return resp.json()["headers"].get("x-consumer-username")


def wait_who(gw, path: str, value: str, expected: str | None, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while who(gw, path, value) != expected:
        assert time.monotonic() < deadline, f"{path}: still not {expected}"
        time.sleep(0.1)


def login(gw, path: str) -> str:
    resp = proxy(gw).get(path, headers={"apikey": "bob-key"})
    assert resp.status_code == 200, resp.text
    return cookie_values(resp)["session"]


def test_payload_is_stored_server_side(routes):
    value = login(routes, "/k")
    assert len(value) == 110  # the header alone
    session_id = sid_of(value)
    stored = row(routes, session_id)
    assert stored["expires"] - time.time() > 800  # the idling timeout is the nearest
    decoded = decode(value + stored["data"])
    assert decoded["flags"] == 1
    assert decoded["data"][0][2] == "bob"
    wait_who(routes, "/k", value, "bob")
    for _ in range(6):  # every worker finds the row
        assert who(routes, "/k", value) == "bob"
    # a cookie whose row does not exist authenticates no one
    other = login(routes, "/k")
    row(routes, sid_of(other))
    admin(routes).delete(f"/sessions/{sid_of(other)}")
    routes.wait_sync()
    assert who(routes, "/k", other) == "anon"


def test_revoking_the_row_ends_the_session(routes):
    value = login(routes, "/k")
    session_id = sid_of(value)
    row(routes, session_id)
    wait_who(routes, "/k", value, "bob")
    admin(routes).delete(f"/sessions/{session_id}")
    routes.wait_sync()
    wait_who(routes, "/k", value, "anon")


def test_logout_deletes_the_row(routes):
    value = login(routes, "/k")
    session_id = sid_of(value)
    row(routes, session_id)
    wait_who(routes, "/k", value, "bob")
    resp = proxy(routes).request("DELETE", "/k?session_logout", headers=cookie_header(
        {"session": value}))
    assert resp.status_code == 200 and resp.content == b""
    assert "Max-Age=0" in set_cookies(resp)["session"]
    admin(routes).get(f"/sessions/{session_id}", status=404)
    assert who(routes, "/k", value) == "anon"


def test_renewal_keeps_the_old_row_for_stale_ttl(routes):
    first = login(routes, "/k-roll")
    row(routes, sid_of(first))
    wait_who(routes, "/k-roll", first, "bob")
    wait_age(first, 5)  # past 3/4 of the rolling timeout: renewed
    resp = proxy(routes).get("/k-roll", headers=cookie_header({"session": first}))
    assert resp.json()["headers"]["x-consumer-username"] == "bob"
    renewed = cookie_values(resp)["session"]
    assert sid_of(renewed) != sid_of(first)
    new_row = row(routes, sid_of(renewed))
    assert decode(renewed + new_row["data"])["created_at"] == decode(first + row(
        routes, sid_of(first))["data"])["created_at"]
    old = row(routes, sid_of(first))
    assert old["expires"] <= time.time() + 2 + 1  # stale_ttl
    assert who(routes, "/k-roll", renewed) == "bob"


def test_sessions_across_nodes_on_postgres(tmp_path_factory, upstream):
    datastores.require_server("postgres")
    with shared_datastore_nodes(tmp_path_factory, "postgres") as (a, b):
        api = admin(a)
        api.post("/services", {"name": "svc", "url": upstream.url})
        route = api.post("/services/svc/routes", {"paths": ["/k"]})
        for plugin in (session_conf(storage="kong"), KEY_AUTH):
            api.post(f"/routes/{route['id']}/plugins", plugin)
        api.post("/consumers", {"username": "anon"})
        api.post("/consumers", {"username": "bob"})
        api.post("/consumers/bob/key-auth", {"key": "bob-key"})
        a.wait_sync()
        b.wait_sync()
        value = login(a, "/k")
        row(b, sid_of(value))
        wait_who(b, "/k", value, "bob")  # the row reached the other node
        admin(b).delete(f"/sessions/{sid_of(value)}")
        wait_who(a, "/k", value, "anon")  # revoked on one node, ended on both
