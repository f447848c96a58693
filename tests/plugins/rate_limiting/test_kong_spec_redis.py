"""Kong 3.9's Redis integration scenarios of both rate-limiting plugins
(spec/03-plugins/23-rate-limiting/05-integration_spec.lua and
24-response-rate-limiting/05-integration_spec.lua): each instance counts in
the database it names, a Redis user with the needed ACLs counts, one
without them makes a strict instance answer 500. Counters are found by the
route's id (other suites share the test server, databases 11 to 14 here)."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.helpers.redis import REDIS, command, require_redis

DBS = (11, 12, 13, 14)
PASSWORD = "secret"
NULL_UUID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def users():
    require_redis()
    tag = uuid.uuid4().hex[:8]
    valid, invalid = f"rl-user-{tag}", f"some-user-{tag}"
    # Kong's redis_helper: an admin user, and a basic one allowed GET only
    command("ACL", "SETUSER", valid, "reset", "on", f">{PASSWORD}", "allkeys", "allcommands")
    command("ACL", "SETUSER", invalid, "reset", "on", f">{PASSWORD}", "allkeys", "+get")
    yield valid, invalid
    command("ACL", "DELUSER", valid, invalid)


def _plugin(name: str, db: int, user: str | None) -> dict:
    redis = {"host": REDIS["host"], "port": REDIS["port"], "database": db, "timeout": 10000}
    if user:
        redis.update(username=user, password=PASSWORD)
    elif "password" in REDIS:
        redis["password"] = REDIS["password"]
    if name == "rate-limiting":
        limits = {"minute": 1}
    else:
        limits = {"limits": {"video": {"minute": 6}}}
    return {"name": name, "config": {"policy": "redis", "fault_tolerant": False,
                                     "redis": redis, **limits}}


def _keys(route_id: str, db: int) -> list:
    return command("KEYS", f"*:{route_id}:*", db=db)


@pytest.mark.parametrize("name", ["rate-limiting", "response-ratelimiting"])
def test_each_instance_counts_in_its_database_and_user(gateway, svc, users, name):
    valid, invalid = users
    routes = []
    for db, user in zip(DBS, (None, None, valid, invalid)):
        path = f"/{uuid.uuid4().hex[:10]}"
        route = gateway.create("/services/svc/routes", {"paths": [path]})
        gateway.create(f"/routes/{route['id']}/plugins", _plugin(name, db, user))
        routes.append((path, route["id"], db))
    gateway.wait_sync()
    for i, (path, route_id, db) in enumerate(routes[:3]):
        # the upstream reports one video (response-ratelimiting counts it)
        resp = requests.get(gateway.proxy + path, params={"header": "X-Kong-Limit:video=1"},
                            timeout=10)
        assert resp.status_code == 200
        if name == "rate-limiting":
            assert resp.headers["X-RateLimit-Limit-Minute"] == "1"
            assert resp.headers["X-RateLimit-Remaining-Minute"] == "0"
        else:
            assert resp.headers["X-RateLimit-Limit-video-minute"] == "6"
        deadline = time.monotonic() + 5
        while not _keys(route_id, db):
            assert time.monotonic() < deadline, f"nothing counted in database {db}"
            time.sleep(0.1)
        if name == "rate-limiting":
            # Kong's key (02-policies_spec): ratelimit:<route>:<service>:<id>:
            # <window start ms>:<period>, expiring with its window
            (key,) = _keys(route_id, db)
            window = int(time.time() // 60 * 60 * 1000)
            assert key in {f"ratelimit:{route_id}:{NULL_UUID}:127.0.0.1:{start}:minute"
                           for start in (window, window - 60000)}  # a minute may just end
            assert 0 < command("TTL", key, db=db) <= 60
        # no other database got this route's counters
        for other in DBS:
            if other != db:
                assert _keys(route_id, other) == []
        for later_path, later_id, later_db in routes[i + 1:]:
            assert _keys(later_id, later_db) == []
    # the user without ACLs cannot count: a strict instance answers 500
    resp = requests.get(gateway.proxy + routes[3][0], timeout=15)
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"


@pytest.mark.parametrize("name", ["rate-limiting", "response-ratelimiting"])
def test_deprecated_redis_fields_are_logged(gateway, name):
    """Kong's "creating ... plugins using api" scenarios: the new `redis`
    record logs nothing, each flat `redis_*` field logs its deprecation in
    the node's error log."""
    limits = {"minute": 100} if name == "rate-limiting" else {
        "limits": {"video": {"minute": 100}}}
    fields = ("host", "port", "password", "username", "ssl", "ssl_verify", "server_name",
              "timeout", "database")
    lines = [f"{name}: config.redis_{f} is deprecated, please use config.redis.{f} instead "
             "(deprecated after 4.0)" for f in fields]
    log = gateway.prefix / "logs" / "error.log"
    redis = {"host": REDIS["host"], "port": REDIS["port"], "username": "test1",
             "password": "testX", "database": 1, "timeout": 1100, "ssl": True,
             "ssl_verify": True, "server_name": "example.test"}
    route = gateway.create("/routes", {"hosts": [f"{uuid.uuid4().hex[:8]}.test"]})
    plugin = gateway.create(f"/routes/{route['id']}/plugins", {
        "name": name, "config": {**limits, "policy": "redis", "redis": redis}})
    assert plugin["config"]["redis"] == redis
    text = log.read_text(errors="replace")
    assert not [line for line in lines if line in text]
    legacy = {f"redis_{k}": v for k, v in redis.items()}
    # each write logs them, as Kong's do (its spec empties the log in between)
    for _ in range(2):
        log.write_text("")
        gateway.create(f"/routes/{route['id']}/plugins", {
            "name": name, "config": {**limits, "policy": "redis", **legacy},
            "consumer": {"id": gateway.create("/consumers",
                                              {"username": uuid.uuid4().hex})["id"]}})
        text = log.read_text(errors="replace")
        assert [line for line in lines if line not in text] == []
