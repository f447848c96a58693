"""rate-limiting through real nginx: exact counts with `redis` across two nodes
and with `local` across the workers of one node, Kong's headers, window
roll-over, the `cluster` policy's sync and fault tolerance."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.redis import REDIS, require_redis

KEY = "rl-secret-key"
CONSUMER_ID = str(uuid.uuid4())
SERVICE_ID = str(uuid.uuid4())


def _setup(node: Gateway, upstream_url: str) -> None:
    node.create("/services", {"id": SERVICE_ID, "name": "rl", "url": upstream_url})
    node.create("/consumers", {"id": CONSUMER_ID, "username": "alice"})
    node.create(f"/consumers/{CONSUMER_ID}/key-auth", {"key": KEY})


@pytest.fixture(scope="module")
def nodes(start_node, upstream):
    require_redis()
    started = [start_node(workers=4), start_node(workers=2)]
    for node in started:
        _setup(node, upstream.url)
    return started


def add_route(nodes, path: str, config: dict, auth: bool = True) -> str:
    """The same route and plugin (same ids: same counter keys) on every node."""
    route_id, plugin_id = str(uuid.uuid4()), str(uuid.uuid4())
    for node in nodes:
        node.create(f"/services/{SERVICE_ID}/routes", {"id": route_id, "paths": [path]})
        if auth:
            node.create(f"/routes/{route_id}/plugins", {"name": "key-auth"})
        node.create(f"/routes/{route_id}/plugins",
                    {"id": plugin_id, "name": "rate-limiting", "config": config})
    for node in nodes:
        node.wait_sync()
    return route_id


def safe_minute(margin: float = 12.0) -> None:
    """Waits out the end of a minute so a burst never straddles two windows."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def at_second_start() -> None:
    time.sleep(1.05 - time.time() % 1)


def burst(urls: list[str], total: int, threads: int = 8, headers=None) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()
    todo = iter(range(total))

    def work() -> None:
        session = requests.Session()
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            status = session.get(urls[i % len(urls)], headers=headers, timeout=10).status_code
            with lock:
                statuses[status] += 1

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return statuses


def test_redis_is_exact_across_two_nodes(nodes):
    add_route(nodes, "/redis", {"minute": 100, "policy": "redis", "redis": REDIS})
    safe_minute()
    urls = [n.proxy + "/redis" for n in nodes]
    statuses = burst(urls, 260, threads=10, headers={"apikey": KEY})
    assert statuses == {200: 100, 429: 160}, statuses
    resp = requests.get(urls[1], headers={"apikey": KEY}, timeout=5)
    assert resp.status_code == 429
    assert resp.json()["message"] == "API rate limit exceeded"
    assert resp.headers["X-RateLimit-Limit-Minute"] == "100"
    assert resp.headers["X-RateLimit-Remaining-Minute"] == "0"
    assert resp.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["Retry-After"] == resp.headers["RateLimit-Reset"]


def test_local_is_exact_across_workers(nodes):
    a = nodes[0]
    add_route([a], "/local", {"minute": 100, "policy": "local"})
    safe_minute()
    statuses = burst([a.proxy + "/local"], 250, threads=10, headers={"apikey": KEY})
    assert statuses == {200: 100, 429: 150}, statuses


def test_headers_and_second_window_roll_over(nodes):
    a = nodes[0]
    add_route([a], "/second", {"second": 3, "hour": 1000})
    at_second_start()
    got = [requests.get(a.proxy + "/second", headers={"apikey": KEY}, timeout=5)
           for _ in range(4)]
    assert [r.status_code for r in got] == [200, 200, 200, 429]
    first = got[0].headers
    assert first["X-RateLimit-Limit-Second"] == "3"
    assert first["X-RateLimit-Remaining-Second"] == "2"
    assert first["X-RateLimit-Limit-Hour"] == "1000"
    assert first["X-RateLimit-Remaining-Hour"] == "999"
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"],
            first["RateLimit-Reset"]) == ("3", "2", "1")
    assert got[3].headers["Retry-After"] == "1"
    assert got[3].headers["X-RateLimit-Remaining-Hour"] == "997"
    at_second_start()
    again = requests.get(a.proxy + "/second", headers={"apikey": KEY}, timeout=5)
    assert again.status_code == 200
    assert again.headers["X-RateLimit-Remaining-Second"] == "2"
    assert again.headers["X-RateLimit-Remaining-Hour"] == "996"


def test_missing_consumer_falls_back_to_ip_and_hidden_headers(nodes):
    a = nodes[0]
    add_route([a], "/anon", {"minute": 2, "hide_client_headers": True,
                             "error_code": 403, "error_message": "slow down"}, auth=False)
    safe_minute(3)
    got = [requests.get(a.proxy + "/anon", timeout=5) for _ in range(3)]
    assert [r.status_code for r in got] == [200, 200, 403]
    assert got[2].json()["message"] == "slow down"
    for resp in got:
        assert not [h for h in resp.headers
                    if h.lower().startswith(("x-ratelimit", "ratelimit", "retry-after"))]


def test_identifiers_of_one_second_count_apart(nodes):
    """The counter keys a configuration keeps per identifier and second: each
    header value counts on its own, also when they alternate within a second."""
    a = nodes[0]
    add_route([a], "/by-header", {"minute": 2, "hour": 50, "limit_by": "header",
                                  "header_name": "x-tenant"}, auth=False)
    safe_minute(3)
    got = []
    for tenant in ["a", "b", "a", "c", "b", "a", "b"]:
        resp = requests.get(a.proxy + "/by-header", headers={"x-tenant": tenant}, timeout=5)
        got.append((tenant, resp.status_code, resp.headers.get("X-RateLimit-Remaining-Minute"),
                    resp.headers.get("X-RateLimit-Remaining-Hour")))
    assert got == [("a", 200, "1", "49"), ("b", 200, "1", "49"), ("a", 200, "0", "48"),
                   ("c", 200, "1", "49"), ("b", 200, "0", "48"), ("a", 429, "0", "48"),
                   ("b", 429, "0", "48")]


def test_redis_outage_fault_tolerant_or_500(nodes):
    a = nodes[0]
    dead = {"host": "127.0.0.1", "port": 9, "timeout": 500}
    add_route([a], "/tolerant", {"minute": 1, "policy": "redis", "redis": dead})
    add_route([a], "/strict", {"minute": 1, "policy": "redis", "redis": dead,
                               "fault_tolerant": False})
    for _ in range(2):
        resp = requests.get(a.proxy + "/tolerant", headers={"apikey": KEY}, timeout=5)
        assert resp.status_code == 200
        assert "X-RateLimit-Limit-Minute" not in resp.headers
    resp = requests.get(a.proxy + "/strict", headers={"apikey": KEY}, timeout=5)
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    assert "failed to get usage" in a.error_log_tail(200)


def test_cluster_policy_counts_in_the_datastore(nodes):
    a = nodes[0]
    route_id = add_route([a], "/cluster", {"minute": 5, "policy": "cluster"})
    safe_minute()
    got = [requests.get(a.proxy + "/cluster", headers={"apikey": KEY}, timeout=5).status_code
           for _ in range(7)]
    assert got == [200] * 5 + [429] * 2
    window = int(time.time() // 60 * 60 * 1000)
    key = {"identifier": CONSUMER_ID, "period": "minute", "period_date": window,
           "service_id": "00000000-0000-0000-0000-000000000000", "route_id": route_id}
    deadline = time.monotonic() + 5
    total = None
    while time.monotonic() < deadline:
        total = a.counter("ratelimiting_metrics", key)
        if total == 5:
            break
        time.sleep(0.2)
    assert total == 5


@pytest.mark.parametrize("policy", ["local", "cluster", "redis"])
def test_kong_spec_configuration_with_an_empty_redis_password(nodes, policy):
    """Kong's own access scenarios set ``redis_password = ""`` whatever the
    policy; an empty password means no AUTH (the test server has none unless
    KONGPY_TEST_REDIS_PASSWORD sets one: then Redis refuses the unauthenticated
    connection and a strict plugin answers 500)."""
    a = nodes[0]
    flat = {"redis_host": REDIS["host"], "redis_port": REDIS["port"], "redis_password": "",
            "redis_database": 1}
    path = f"/spec-{policy}"
    route_id = add_route([a], path, {"policy": policy, "minute": 3, "fault_tolerant": False,
                                     **flat})
    shown = [p["config"] for p in admin(a).get(f"/routes/{route_id}/plugins")["data"]
             if p["name"] == "rate-limiting"]
    assert [(c["redis"]["password"], c["redis"]["database"]) for c in shown] == [("", 1)]
    safe_minute()
    got = [requests.get(a.proxy + path, headers={"apikey": KEY}, timeout=5)
           for _ in range(4)]
    if policy == "redis" and "password" in REDIS:
        assert {r.status_code for r in got} == {500}
        return
    assert [r.status_code for r in got] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining-Minute"] for r in got] == ["2", "1", "0", "0"]
