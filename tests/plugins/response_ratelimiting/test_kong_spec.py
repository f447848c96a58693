"""Kong 3.9's response-ratelimiting access scenarios (spec/03-plugins/
24-response-rate-limiting/04-access_spec.lua) against a live node, for every
policy. Kong's windows of a second become minutes here (the same code path,
without racing the clock); each scenario is its own client address."""
from __future__ import annotations

import itertools
import time
import uuid
from contextlib import contextmanager

import pytest
import requests

from tests.helpers.http import admin
from tests.helpers.redis import REDIS, require_redis

POLICIES = ["local", "cluster", "redis"]
N = 6  # Kong's ITERATIONS
_ips = itertools.count(1)


@pytest.fixture(scope="module")
def gateway(start_node):
    """The module's node (and so `svc`'s): X-Real-IP names the client."""
    return start_node(trusted_ips="0.0.0.0/0,::/0")


@pytest.fixture(scope="module")
def node(gateway):
    return gateway


@pytest.fixture
def ip():
    n = next(_ips) + uuid.uuid4().int % 50000
    return {"X-Real-IP": f"127.{n // 65536 % 256}.{n // 256 % 256}.{n % 256 or 1}"}


def conf(policy: str, limits: dict, **extra) -> dict:
    if policy == "redis":
        require_redis()
    redis = {"host": REDIS["host"], "port": REDIS["port"], "database": 1,
             "password": REDIS.get("password", "")}
    return {"policy": policy, "fault_tolerant": False, "redis": redis, "limits": limits,
            **extra}


def route(node, path: str, config: dict | None = None, service: str = "svc",
          auth: bool = False) -> dict:
    made = node.create(f"/services/{service}/routes", {"paths": [path]})
    if auth:
        node.create(f"/routes/{made['id']}/plugins", {"name": "key-auth"})
    if config is not None:
        node.create(f"/routes/{made['id']}/plugins",
                    {"name": "response-ratelimiting", "config": config})
    return made


def unique() -> str:
    return "/" + uuid.uuid4().hex[:10]


def get(node, path: str, headers: dict, *costs: str) -> requests.Response:
    query = "&".join("cost=" + requests.utils.quote(c) for c in costs)
    return requests.get(node.proxy + path + ("?" + query if query else ""), headers=headers,
                        timeout=10)


def wait_remaining(node, path: str, headers: dict, expected: dict,
                   status: int = 200) -> requests.Response:
    """Kong's wait_remaining_sync: asks without reporting usage until the
    counters (applied after each response, in a timer) show `expected`."""
    deadline = time.monotonic() + 5
    while True:
        resp = get(node, path, headers)
        seen = {k: int(resp.headers.get(k, -1)) for k in expected}
        if resp.status_code == status and (status != 200 or seen == expected):
            return resp
        assert time.monotonic() < deadline, (resp.status_code, seen, expected)
        time.sleep(0.1)


def safe_minute(margin: float = 10.0) -> None:
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def limit_test(node, paths: list[str], headers_of, limit: int = N) -> None:
    """Kong's test_limit: `limit` reports of video=1 pass, the next is a 429."""
    safe_minute()
    for i in range(limit):
        assert get(node, paths[i % len(paths)], headers_of(i), "video=1").status_code == 200
    wait_remaining(node, paths[0], headers_of(0), {"X-RateLimit-Remaining-video-minute": 0})
    resp = get(node, paths[0], headers_of(0), "video=1")
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Limit-video-minute"] == str(limit)
    assert resp.headers["X-RateLimit-Remaining-video-minute"] == "0"


@pytest.mark.parametrize("policy", POLICIES)
def test_returns_remaining_counter(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N}}))
    node.wait_sync()
    safe_minute()
    n = N // 2
    for _ in range(n):
        assert get(node, path, ip, "video=1").status_code == 200
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": N - n})
    resp = get(node, path, ip, "video=1")
    assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Limit-video-minute"] == str(N)
    assert resp.headers["X-RateLimit-Remaining-video-minute"] == str(N - n - 1)


@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N}}))
    node.wait_sync()
    limit_test(node, [path], lambda _: ip)


@pytest.mark.parametrize("policy", POLICIES)
def test_counts_against_the_same_service_from_different_routes(node, upstream, ip, policy):
    name = "svc-" + uuid.uuid4().hex[:8]
    node.create("/services", {"name": name, "url": upstream.url})
    node.create(f"/services/{name}/plugins",
                {"name": "response-ratelimiting", "config": conf(policy, {"video": {"minute": N}})})
    paths = [unique(), unique()]
    for path in paths:
        route(node, path, service=name)
    node.wait_sync()
    safe_minute()
    for i in range(N):
        resp = get(node, paths[i * 2 // N], ip, f"video=1, test={N}")
        assert resp.status_code == 200
    wait_remaining(node, paths[0], ip, {"X-RateLimit-Remaining-video-minute": 0})
    assert get(node, paths[0], ip, f"video=1, test={N}").status_code == 429


@pytest.mark.parametrize("policy", POLICIES)
def test_handles_multiple_limits(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N * 2, "hour": N * 4},
                                    "image": {"minute": N}}))
    node.wait_sync()
    safe_minute()
    n = N // 2
    in_min, in_hour = N * 2, N * 4
    for _ in range(n):
        assert get(node, path, ip, "video=2, image=1").status_code == 200
        in_min, in_hour = in_min - 2, in_hour - 2
    # each limit's usage is added after the answer, in its own step: wait
    # for all of them
    resp = wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": in_min,
                                           "X-RateLimit-Remaining-video-hour": in_hour,
                                           "X-RateLimit-Remaining-image-minute": N - n})
    assert resp.headers["X-RateLimit-Limit-video-minute"] == str(N * 2)
    assert resp.headers["X-RateLimit-Limit-video-hour"] == str(N * 4)
    assert resp.headers["X-RateLimit-Limit-image-minute"] == str(N)
    for _ in range(n, N):
        assert get(node, path, ip, "video=1, image=1").status_code == 200
        in_min, in_hour = in_min - 1, in_hour - 1
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": in_min,
                                    "X-RateLimit-Remaining-video-hour": in_hour,
                                    "X-RateLimit-Remaining-image-minute": 0})
    resp = get(node, path, ip, "video=1, image=1")
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Remaining-image-minute"] == "0"
    assert resp.headers["X-RateLimit-Remaining-video-hour"] == str(in_hour - 1)
    assert resp.headers["X-RateLimit-Remaining-video-minute"] == str(in_min - 1)


@pytest.mark.parametrize("policy", POLICIES)
def test_per_consumer_and_per_route_settings(node, svc, policy):
    tag = uuid.uuid4().hex[:8]
    path = unique()
    made = route(node, path, conf(policy, {"video": {"minute": N - 3}}), auth=True)
    consumers, keys = [], []
    for i in (1, 2):
        consumers.append(node.create("/consumers", {"username": f"rrl-{tag}-{i}"}))
        keys.append(node.create(f"/consumers/{consumers[-1]['id']}/key-auth", {})["key"])
    node.create(f"/routes/{made['id']}/plugins",
                {"name": "response-ratelimiting", "consumer": {"id": consumers[0]["id"]},
                 "config": conf(policy, {"video": {"minute": N - 2}})})
    node.wait_sync()
    # the consumer's own instance wins over the route's
    limit_test(node, [path], lambda _: {"apikey": keys[0]}, N - 2)
    limit_test(node, [path], lambda _: {"apikey": keys[1]}, N - 3)


@pytest.mark.parametrize("policy", POLICIES)
def test_upstream_is_told_the_least_remaining_of_each_limit(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N, "hour": N * 2},
                                    "image": {"minute": N - 1}}))
    node.wait_sync()
    safe_minute()
    seen = get(node, path, ip).json()["headers"]
    assert (seen["x-ratelimit-remaining-image"], seen["x-ratelimit-remaining-video"]) == (
        str(N - 1), str(N))
    seen = get(node, path, ip, "video=2, image=1").json()["headers"]
    assert (seen["x-ratelimit-remaining-image"], seen["x-ratelimit-remaining-video"]) == (
        str(N - 1), str(N))
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": N - 2,
                                    "X-RateLimit-Remaining-image-minute": N - 2})
    seen = get(node, path, ip).json()["headers"]
    assert (seen["x-ratelimit-remaining-image"], seen["x-ratelimit-remaining-video"]) == (
        str(N - 2), str(N - 2))


@pytest.mark.parametrize("policy", POLICIES)
def test_combines_multiple_x_kong_limit_headers(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N * 2 + 2}, "image": {"minute": N}}))
    node.wait_sync()
    safe_minute()
    for _ in range(N):
        assert get(node, path, ip, "video=2", "image=1").status_code == 200
    get(node, path, ip, "video=1")
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": 1,
                                    "X-RateLimit-Remaining-image-minute": 0})
    resp = get(node, path, ip, "video=2", "image=1")
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Remaining-image-minute"] == "0"
    assert resp.headers["X-RateLimit-Remaining-video-minute"] == "0"


@pytest.mark.parametrize("policy", POLICIES)
def test_should_block_on_first_violation(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N, "hour": N * 2},
                                    "image": {"minute": 4}}, block_on_first_violation=True))
    node.wait_sync()
    safe_minute()
    assert get(node, path, ip, "video=2, image=4").status_code == 200
    wait_remaining(node, path, ip, {}, status=429)
    resp = get(node, path, ip, "video=2")
    assert resp.status_code == 429
    assert resp.json()["message"] == "API rate limit exceeded for 'image'"


@pytest.mark.parametrize("policy", POLICIES)
def test_hide_client_headers(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"minute": N}}, hide_client_headers=True))
    node.wait_sync()
    resp = get(node, path, ip)
    assert resp.status_code == 200
    assert "X-RateLimit-Remaining-video-minute" not in resp.headers
    assert "X-RateLimit-Limit-video-minute" not in resp.headers


@pytest.mark.parametrize("policy", POLICIES)
def test_expires_a_counter(node, svc, ip, policy):
    path = unique()
    route(node, path, conf(policy, {"video": {"second": N}}))
    node.wait_sync()
    for _ in range(2):
        time.sleep(1.02 - time.time() % 1)
        resp = get(node, path, ip, "video=1")
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Limit-video-second"] == str(N)
        assert resp.headers["X-RateLimit-Remaining-video-second"] == str(N - 1)


@contextmanager
def global_instance(node, body: dict):
    plugin = admin(node).post("/plugins", body)
    try:
        node.wait_sync()
        yield plugin
    finally:
        admin(node).delete(f"/plugins/{plugin['id']}")
        node.wait_sync()


@pytest.mark.parametrize("policy", POLICIES)
def test_global_for_single_consumer(node, svc, policy):
    """A consumer's instance (no route, no service) counts on every route."""
    consumer = node.create("/consumers", {"username": "rrl-" + uuid.uuid4().hex[:8]})
    key = node.create(f"/consumers/{consumer['id']}/key-auth", {})["key"]
    paths = [unique() for _ in range(N)]
    for path in paths:
        route(node, path, auth=True)
    body = {"name": "response-ratelimiting", "consumer": {"id": consumer["id"]},
            "config": conf(policy, {"video": {"minute": N}})}
    with global_instance(node, body):
        limit_test(node, paths, lambda _: {"apikey": key})


@pytest.mark.parametrize("policy", POLICIES)
def test_global(node, svc, ip, policy):
    paths = [unique() for _ in range(N)]
    for path in paths:
        route(node, path)
    body = {"name": "response-ratelimiting", "config": conf(policy, {"video": {"minute": N}})}
    with global_instance(node, body):
        limit_test(node, paths, lambda _: ip)


def served_route(node, config: dict) -> str:
    """A new route with the plugin, served, and far enough from a minute's end."""
    path = unique()
    route(node, path, config)
    node.wait_sync()
    safe_minute()
    return path


@pytest.mark.parametrize("policy", POLICIES)
def test_a_refused_answer_is_not_counted(node, svc, ip, policy):
    """Kong's header_filter marks a response it turns into the bodiless 429
    `stop_log`: its reported usage is never added (the upstream is then told
    0 left, not less)."""
    path = served_route(node, conf(policy, {"video": {"minute": 2}}))
    assert get(node, path, ip, "video=2").status_code == 200
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": 0})
    refused = get(node, path, ip, "video=1")
    assert refused.status_code == 429 and refused.content == b""
    time.sleep(1.5 if policy == "cluster" else 0.3)
    seen = get(node, path, ip).json()["headers"]
    assert seen["x-ratelimit-remaining-video"] == "0"


@pytest.mark.parametrize("policy", POLICIES)
def test_a_negative_report_gives_usage_back(node, svc, ip, policy):
    """Kong's log phase adds every reported increment but 0 (`~= 0`)."""
    path = served_route(node, conf(policy, {"video": {"minute": 5}}))
    assert get(node, path, ip, "video=3").status_code == 200
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": 2})
    if policy == "cluster":
        time.sleep(1.5)  # the usage is in the datastore before it is given back
    resp = get(node, path, ip, "video=-2")
    assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Remaining-video-minute"] == "4"
    wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": 4})
    if policy == "cluster":
        time.sleep(2.5)  # through the datastore and back (two syncs)
        wait_remaining(node, path, ip, {"X-RateLimit-Remaining-video-minute": 4})
