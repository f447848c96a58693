"""response-ratelimiting through real nginx: the upstream's X-Kong-Limit
header drives the counters (removed before the client sees it), Kong's
headers, the bodiless 429 and block_on_first_violation. The module's upstream
reports usage (conftest.py)."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.helpers.gateway import Gateway
from tests.helpers.http import admin, proxy
from tests.helpers.redis import REDIS, require_redis


def add_route(gw: Gateway, path: str, config: dict) -> dict:
    """A route for ``path`` with the plugin configured; the plugin, once served."""
    route = gw.create("/services/svc/routes", {"id": str(uuid.uuid4()), "paths": [path]})
    plugin = gw.create(f"/routes/{route['id']}/plugins",
                       {"name": "response-ratelimiting", "config": config})
    gw.wait_sync()
    return plugin


def get(gw: Gateway, path: str) -> requests.Response:
    resp = proxy(gw).get(path)
    time.sleep(0.15)  # increments are applied after the response, in a timer
    return resp


@pytest.mark.parametrize("policy", ["local", "redis", "cluster"])
def test_upstream_reported_usage(gateway, svc, policy):
    node = gateway
    if policy == "redis":
        require_redis()
    path = f"/videos-{policy}"
    add_route(node, path, {"limits": {"videos": {"minute": 3}, "images": {"hour": 10}},
                           "policy": policy, "redis": REDIS})
    left = 60 - time.time() % 60
    if left < 12:
        time.sleep(left + 0.2)
    first = get(node, path + "?cost=videos=2")
    assert first.status_code == 200
    assert "X-Kong-Limit" not in first.headers
    assert first.headers["X-RateLimit-Limit-videos-minute"] == "3"
    assert first.headers["X-RateLimit-Remaining-videos-minute"] == "1"
    assert first.headers["X-RateLimit-Limit-images-hour"] == "10"
    assert first.headers["X-RateLimit-Remaining-images-hour"] == "10"
    if policy == "cluster":
        time.sleep(1.5)  # the node learns the total at its next sync
    second = get(node, path + "?cost=videos=1,%20images=4")
    assert second.status_code == 200
    assert second.headers["X-RateLimit-Remaining-videos-minute"] == "0"
    assert second.headers["X-RateLimit-Remaining-images-hour"] == "6"
    if policy == "cluster":
        time.sleep(1.5)
    # Nothing left, and the upstream reports more: a bodiless 429 replaces its answer.
    third = get(node, path + "?cost=videos=1")
    assert third.status_code == 429
    assert third.content == b""
    # Without a report the request still passes (only reported usage counts).
    assert get(node, path).status_code == 200


def test_block_on_first_violation(gateway, svc):
    node = gateway
    add_route(node, "/blocked", {"limits": {"videos": {"second": 1, "minute": 5}},
                                 "block_on_first_violation": True})
    time.sleep(1.05 - time.time() % 1)
    assert get(node, "/blocked?cost=videos=1").status_code == 200
    resp = get(node, "/blocked?cost=videos=1")
    assert resp.status_code == 429
    assert resp.json()["message"] == "API rate limit exceeded for 'videos'"


def test_block_on_first_violation_only_at_exactly_zero_left(gateway, svc):
    """Kong's access refuses when a window has exactly 0 left; one overshot by
    a larger increment is proxied, and turned into a bodiless 429 only when
    the upstream reports more usage of that limit."""
    node = gateway
    add_route(node, "/overshot", {"limits": {"videos": {"minute": 3}},
                                  "block_on_first_violation": True})
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.2)
    assert get(node, "/overshot?cost=videos=2").status_code == 200
    assert get(node, "/overshot?cost=videos=2").status_code == 200  # 4 of 3 used
    assert get(node, "/overshot").status_code == 200
    resp = get(node, "/overshot?cost=videos=1")
    assert resp.status_code == 429 and resp.content == b""


def test_the_upstream_is_told_what_is_left(gateway, svc):
    """Kong's X-RateLimit-Remaining-<name> request header: the least of the
    limit's windows, before this request's usage."""
    node = gateway
    add_route(node, "/told", {"limits": {"videos": {"minute": 4, "hour": 10},
                                         "images": {"minute": 9}}})
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.2)
    first = get(node, "/told?cost=videos=2,%20images=1").json()["headers"]
    assert first["x-ratelimit-remaining-videos"] == "4"
    assert first["x-ratelimit-remaining-images"] == "9"
    second = get(node, "/told").json()["headers"]
    assert second["x-ratelimit-remaining-videos"] == "2"
    assert second["x-ratelimit-remaining-images"] == "8"


@pytest.mark.parametrize("policy", ["local", "cluster", "redis"])
def test_an_empty_redis_password_is_accepted_and_sends_no_auth(gateway, svc, policy):
    """Kong's redis schema allows ``password = ""`` (no AUTH), whatever the policy
    (a test server with a password refuses the unauthenticated connection)."""
    node = gateway
    redis = {"host": REDIS["host"], "port": REDIS["port"], "password": "", "database": 1}
    path = f"/empty-password-{policy}"
    plugin = add_route(node, path, {"limits": {"videos": {"minute": 2}}, "policy": policy,
                                    "fault_tolerant": False, "redis": redis})
    shown = admin(node).get(f"/plugins/{plugin['id']}")["config"]["redis"]
    assert (shown["password"], shown["database"]) == ("", 1)
    left = 60 - time.time() % 60
    if left < 12:
        time.sleep(left + 0.2)
    first = get(node, path + "?cost=videos=2")
    if policy == "redis" and "password" in REDIS:
        assert first.status_code == 500
        return
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Remaining-videos-minute"] == "0"
    if policy == "cluster":
        time.sleep(1.5)  # the node learns the total at its next sync
    assert get(node, path + "?cost=videos=1").status_code == 429
