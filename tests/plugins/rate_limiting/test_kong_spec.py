"""Kong 3.9's rate-limiting access scenarios (spec/03-plugins/23-rate-limiting/
04-access_spec.lua) against a live node: every policy and every `limit_by`,
seven requests against a limit of six, and what each answer carries."""
from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import contextmanager, nullcontext

import pytest
import requests

from tests.helpers.http import admin
from tests.helpers.redis import REDIS, command, require_redis

POLICIES = ["local", "cluster", "redis"]
LIMIT_BY = ["ip", "consumer", "credential", "service", "header", "path"]
KEY_NAME = "test-key"
REDIS_DB = 1


@pytest.fixture(scope="module")
def node(start_node):
    # Kong's spec trusts every address, so X-Real-IP names the client
    return start_node(trusted_ips="0.0.0.0/0,::/0")


def _redis() -> dict:
    return {"host": REDIS["host"], "port": REDIS["port"], "database": REDIS_DB,
            "password": REDIS.get("password", "")}


def _conf(policy: str, **extra) -> dict:
    if policy == "redis":
        require_redis()
    return {"policy": policy, "redis": _redis(), **extra}


def safe_minute(margin: float = 8.0) -> None:
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


class Scene:
    """Services, routes, plugins and consumers of one scenario, removed at its end."""

    def __init__(self, node, upstream_url: str) -> None:
        self.node, self.url, self.api = node, upstream_url, admin(node)
        self.tag = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    def add(self, path: str, body: dict) -> dict:
        entity = self.api.post(path, body)
        kind = path.rsplit("/", 1)[-1]
        if kind == "key-auth":
            self.created.append(f"{path}/{entity['id']}")
        else:
            self.created.append(f"/{kind}/{entity['id']}")
        return entity

    def service(self) -> dict:
        return self.add("/services", {"url": self.url})

    def path(self, name: str = "test") -> str:
        return f"/{self.tag}-{name}"

    def route(self, service: dict, path: str) -> dict:
        return self.add("/routes", {"service": {"id": service["id"]}, "paths": [path]})

    def plugin(self, name: str, config: dict, service: dict | None = None) -> dict:
        body = {"name": name, "config": config}
        if service:
            body["service"] = {"id": service["id"]}
        return self.add("/plugins", body)

    def consumer(self, username: str, key: str) -> None:
        consumer = self.add("/consumers", {"username": f"{username}-{self.tag}"})
        self.add(f"/consumers/{consumer['id']}/key-auth", {"key": f"{key}-{self.tag}"})

    def key(self, key: str) -> dict:
        return {KEY_NAME: f"{key}-{self.tag}"}

    def close(self) -> None:
        for path in reversed(self.created):
            self.api.delete(path)
        self.node.wait_sync()


@pytest.fixture
def scene(node, upstream):
    made = Scene(node, upstream.url)
    yield made
    made.close()


def get(node, path: str, headers: dict | None = None) -> requests.Response:
    return requests.get(node.proxy + path, headers=headers, timeout=10)


def burst(node, path: str, n: int = 7, headers: dict | None = None) -> dict:
    ret: dict = {k: [] for k in ("status", "minute_limit", "minute_remaining", "hour_limit",
                                 "hour_remaining", "limit", "remaining", "reset")}
    names = {"minute_limit": "X-RateLimit-Limit-Minute",
             "minute_remaining": "X-RateLimit-Remaining-Minute",
             "hour_limit": "X-RateLimit-Limit-Hour", "hour_remaining": "X-RateLimit-Remaining-Hour",
             "limit": "RateLimit-Limit", "remaining": "RateLimit-Remaining",
             "reset": "RateLimit-Reset"}
    for _ in range(n):
        resp = get(node, path, headers)
        ret["status"].append(resp.status_code)
        for key, name in names.items():
            value = resp.headers.get(name)
            ret[key].append(int(value) if value is not None else None)
    return ret


def validate(ret: dict, check_hour: bool = False) -> None:
    assert ret["status"] == [200] * 6 + [429], ret
    assert ret["minute_limit"] == [6] * 7
    assert ret["minute_remaining"] == [5, 4, 3, 2, 1, 0, 0]
    assert ret["limit"] == [6] * 7
    assert ret["remaining"] == [5, 4, 3, 2, 1, 0, 0]
    if check_hour:
        assert all(v > 0 for v in ret["hour_limit"])
        assert all(v >= 0 for v in ret["hour_remaining"])
    top = 3600 if check_hour else 60
    assert all(0 <= r <= top for r in ret["reset"]), ret["reset"]


def _single(scene: Scene, policy: str, limit_by: str, **limits) -> tuple[str, dict | None]:
    service = scene.service()
    path = scene.path()
    scene.route(service, path)
    scene.plugin("rate-limiting", _conf(policy, limit_by=limit_by, path=path,
                                        header_name="test-header", **limits), service)
    headers = None
    if limit_by in ("consumer", "credential"):
        scene.plugin("key-auth", {"key_names": [KEY_NAME]}, service)
        scene.consumer("Bob", "test_credential")
        headers = scene.key("test_credential")
    scene.node.wait_sync()
    return path, headers


@pytest.mark.parametrize("limit_by", LIMIT_BY)
@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit_single(node, scene, policy, limit_by):
    path, headers = _single(scene, policy, limit_by, minute=6)
    safe_minute()
    validate(burst(node, path, headers=headers))


@pytest.mark.parametrize("limit_by", LIMIT_BY)
@pytest.mark.parametrize("policy", POLICIES)
def test_handles_multiple_limits(node, scene, policy, limit_by):
    path, _ = _single(scene, policy, limit_by, minute=6, hour=99999)
    if limit_by in ("consumer", "credential"):
        # Kong's spec sends no key here: key-auth refuses before the limit
        assert get(node, path).status_code == 401
        return
    safe_minute()
    validate(burst(node, path), check_hour=True)


@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit_multiple_ip(node, scene, policy):
    path, _ = _single(scene, policy, "ip", minute=6)
    safe_minute(15)
    for ip in ("127.0.0.1", "127.0.0.2"):
        validate(burst(node, path, headers={"X-Real-IP": ip}))


@pytest.mark.parametrize("policy", POLICIES)
def test_hide_client_headers(node, scene, policy):
    path, _ = _single(scene, policy, "ip", minute=6, hide_client_headers=True)
    resp = get(node, path)
    assert resp.status_code == 200
    for name in ("X-Ratelimit-Limit-Minute", "X-Ratelimit-Remaining-Minute", "Ratelimit-Limit",
                 "Ratelimit-Remaining", "Ratelimit-Reset", "Retry-After"):
        assert name not in resp.headers


@pytest.mark.parametrize("policy", POLICIES)
def test_expire_counter(node, scene, policy):
    path, _ = _single(scene, policy, "ip", second=1)
    ip = {"X-Real-IP": "127.0.0.3"}
    for _ in range(10):
        time.sleep(1.02 - time.time() % 1)
        first, second = get(node, path, ip), get(node, path, ip)
        if time.time() % 1 > 0.9:
            continue  # too close to the next second to tell
        assert first.status_code == 200
        assert (first.headers["RateLimit-Limit"],
                first.headers["RateLimit-Remaining"]) == ("1", "0")
        assert int(first.headers["RateLimit-Reset"]) >= 0
        assert (first.headers["X-RateLimit-Limit-Second"],
                first.headers["X-RateLimit-Remaining-Second"]) == ("1", "0")
        assert second.status_code == 429
        assert "API rate limit exceeded" in second.json()["message"]
        time.sleep(1)
        assert get(node, path, ip).status_code == 200
        return
    pytest.fail("never got two requests into one second")


@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_with_a_custom_error_code_and_message(node, scene, policy):
    path, _ = _single(scene, policy, "ip", minute=1, error_code=404,
                      error_message="Fake Not Found")
    safe_minute(3)
    assert get(node, path).status_code == 200
    resp = get(node, path)
    assert resp.status_code == 404
    assert resp.json()["message"] == "Fake Not Found"
    assert resp.headers["Retry-After"] == resp.headers["RateLimit-Reset"]


@contextmanager
def global_plugin(scene: Scene, name: str, config: dict):
    plugin = admin(scene.node).post("/plugins", {"name": name, "config": config})
    try:
        yield plugin
    finally:
        admin(scene.node).delete(f"/plugins/{plugin['id']}")
        scene.node.wait_sync()


@pytest.mark.parametrize("limit_by", ["service", "path"])
@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit_multiple_service_or_path(node, scene, policy, limit_by):
    """Kong's "multiple service" (a global instance, two services) and
    "multiple path" (one service, the second path not the configured one:
    the client IP counts) scenarios."""
    paths = [scene.path("1-test"), scene.path("2-test")]
    service = scene.service()
    for path in paths:
        scene.route(service if limit_by == "path" else scene.service(), path)
    config = _conf(policy, minute=6, limit_by=limit_by, path=paths[0])
    if limit_by == "path":
        scene.plugin("rate-limiting", config, service)
        instance = nullcontext()
    else:
        instance = global_plugin(scene, "rate-limiting", config)
    with instance:
        node.wait_sync()
        safe_minute(15)
        for path in paths:
            validate(burst(node, path))


@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit_multiple_header(node, scene, policy):
    service = scene.service()
    path = scene.path()
    scene.route(service, path)
    scene.plugin("rate-limiting", _conf(policy, minute=6, limit_by="header",
                                        header_name="test-header-1"), service)
    node.wait_sync()
    safe_minute(15)
    # the second header is not the configured one: the client IP counts
    for name in ("test-header-1", "test-header-2"):
        validate(burst(node, path, headers={name: "test"}))


@pytest.mark.parametrize("limit_by", ["consumer", "credential"])
@pytest.mark.parametrize("policy", POLICIES)
def test_blocks_if_exceeding_limit_multiple_consumers(node, scene, policy, limit_by):
    service = scene.service()
    path = scene.path()
    scene.route(service, path)
    scene.plugin("rate-limiting", _conf(policy, minute=6, limit_by=limit_by), service)
    scene.plugin("key-auth", {"key_names": [KEY_NAME]}, service)
    scene.consumer("Bob", "test_credential_1")
    scene.consumer("Alice", "test_credential_2")
    node.wait_sync()
    safe_minute(15)
    for key in ("test_credential_1", "test_credential_2"):
        validate(burst(node, path, headers=scene.key(key)))


def assert_failure_answer(resp: requests.Response, tolerant: bool) -> None:
    """Kong's answer when the counters cannot be read: a tolerant instance
    proxies, a strict one answers 500; neither sends rate-limit headers."""
    if tolerant:
        assert resp.status_code == 200
    else:
        assert resp.status_code == 500
        assert "An unexpected error occurred" in resp.json()["message"]
    for name in ("X-Ratelimit-Limit-Minute", "X-Ratelimit-Remaining-Minute", "Ratelimit-Limit",
                 "Ratelimit-Remaining", "Ratelimit-Reset"):
        assert name not in resp.headers


@pytest.mark.parametrize("tolerant", [False, True])
def test_redis_fault_tolerancy(node, scene, tolerant):
    service = scene.service()
    path = scene.path()
    scene.route(service, path)
    scene.plugin("rate-limiting", {"minute": 6, "policy": "redis", "limit_by": "ip",
                                   "redis": {"host": "127.0.0.1", "port": 80, "ssl": False},
                                   "fault_tolerant": tolerant}, service)
    node.wait_sync()
    resp = get(node, path)
    assert_failure_answer(resp, tolerant)


def test_redis_with_sync_rate(node, scene):
    """Kong accepts `sync_rate` with the redis policy; its spec asks only that
    the limit holds and the counter reaches Redis within 15 s."""
    require_redis()
    service = scene.service()
    path = scene.path()
    scene.route(service, path)
    scene.plugin("rate-limiting", {"minute": 6, "policy": "redis", "limit_by": "ip",
                                   "redis": dict(_redis(), ssl=False), "sync_rate": 10},
                 service)
    node.wait_sync()
    pattern = f"ratelimit:*:{service['id']}:*"
    assert command("KEYS", pattern, db=REDIS_DB) == []
    safe_minute(20)
    statuses = [get(node, path).status_code for _ in range(8)]
    assert statuses == [200] * 6 + [429] * 2
    assert get(node, path).status_code == 429
    deadline = time.monotonic() + 15
    while len(command("KEYS", pattern, db=REDIS_DB)) != 1:
        assert time.monotonic() < deadline, "the counter never reached redis"
        get(node, path)
        time.sleep(0.5)


def test_global_for_single_consumer(node, scene):
    paths = [scene.path("1-test"), scene.path("2-test")]
    for path in paths:
        scene.route(scene.service(), path)
    scene.consumer("Bob", "test-credential")
    with global_plugin(scene, "key-auth", {"key_names": [KEY_NAME]}), \
            global_plugin(scene, "rate-limiting", _conf("local", minute=6,
                                                        limit_by="credential")):
        node.wait_sync()
        safe_minute(15)
        headers = scene.key("test-credential")
        validate(burst(node, paths[0], headers=headers))
        ret = burst(node, paths[1], headers=headers)
        assert ret["status"] == [429] * 7
        assert ret["minute_limit"] == ret["limit"] == [6] * 7
        assert ret["minute_remaining"] == ret["remaining"] == [0] * 7
        assert all(0 <= r <= 60 for r in ret["reset"])


@pytest.mark.parametrize("tolerant", [False, True])
def test_cluster_fault_tolerancy(start_node, upstream, tolerant):
    """Kong's cluster-policy scenario: the metrics table is dropped under a
    running node. Kong reads the datastore in the request and fails at once;
    kongpy's data plane learns of it at the node's next counter sync (about
    a second), then answers as Kong: strict 500, tolerant 200 uncounted, and
    no rate-limit headers either way."""
    node = start_node()
    scene = Scene(node, upstream.url)
    path, _ = _single(scene, "cluster", "ip", minute=6, fault_tolerant=tolerant)
    safe_minute()
    ret = burst(node, path, 2)
    assert ret["status"] == [200, 200]
    assert ret["minute_limit"] == ret["limit"] == [6, 6]
    assert ret["minute_remaining"] == ret["remaining"] == [5, 4]
    with sqlite3.connect(node.prefix / "kongpy.db") as db:
        db.execute("DROP TABLE ratelimiting_metrics")
    # a request counted after the drop makes the next sync (every second) fail;
    # at most three more are counted meanwhile: 2 + 3 stays within the limit
    for _ in range(3):
        resp = get(node, path)
        if "X-RateLimit-Limit-Minute" not in resp.headers:
            break
        assert resp.status_code == 200
        time.sleep(1.0)
    else:
        resp = get(node, path)
    assert_failure_answer(resp, tolerant)
    # it stays so while the datastore fails (the tolerant instance does not limit)
    again = [get(node, path) for _ in range(8)]
    assert {r.status_code for r in again} == {200 if tolerant else 500}


@pytest.mark.parametrize("policy", POLICIES)
def test_handles_multiple_limits_minute_and_hour(node, scene, policy):
    """Kong 3.0's scenario: minute 3, hour 5; the refusal keeps the hour's
    remaining (2) and shows the minute's RateLimit-* and Retry-After."""
    path, _ = _single(scene, policy, "ip", minute=3, hour=5)
    safe_minute()
    for i in range(1, 4):
        resp = get(node, path)
        assert resp.status_code == 200
        assert (resp.headers["X-RateLimit-Remaining-Minute"],
                resp.headers["X-RateLimit-Remaining-Hour"]) == (str(3 - i), str(5 - i))
        assert (resp.headers["RateLimit-Limit"], resp.headers["RateLimit-Remaining"]) == (
            "3", str(3 - i))
        assert 0 < int(resp.headers["RateLimit-Reset"]) <= 60
    resp = get(node, path)
    assert resp.status_code == 429
    assert resp.json()["message"] == "API rate limit exceeded"
    assert (resp.headers["RateLimit-Limit"], resp.headers["RateLimit-Remaining"]) == ("3", "0")
    assert (resp.headers["X-RateLimit-Remaining-Hour"],
            resp.headers["X-RateLimit-Remaining-Minute"]) == ("2", "0")
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert 0 < int(resp.headers["RateLimit-Reset"]) <= 60


@pytest.mark.parametrize("policy", POLICIES)
def test_consumer_and_route_instance_and_credentials(node, scene, policy):
    """Kong 3.0's "With authentication" scenarios: a credential-limited route
    instance (another key of the same consumer counts apart), and an instance
    for one consumer on that route, which wins for that consumer."""
    service = scene.service()
    path = scene.path()
    route = scene.route(service, path)
    scene.add(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    scene.add(f"/routes/{route['id']}/plugins",
              {"name": "rate-limiting", "config": _conf(policy, minute=6,
                                                        limit_by="credential")})
    scene.consumer("provider_123", "apikey122")
    scene.consumer("provider_124", "apikey123")
    consumer = admin(node).get(f"/consumers/provider_124-{scene.tag}")
    scene.add(f"/consumers/{consumer['id']}/key-auth", {"key": f"apikey333-{scene.tag}"})
    first = admin(node).get(f"/consumers/provider_123-{scene.tag}")
    scene.add(f"/routes/{route['id']}/plugins",
              {"name": "rate-limiting", "consumer": {"id": first["id"]},
               "config": _conf(policy, minute=8)})
    node.wait_sync()
    safe_minute(15)
    validate(burst(node, f"{path}?apikey=apikey123-{scene.tag}"))
    assert get(node, f"{path}?apikey=apikey333-{scene.tag}").status_code == 200
    ret = burst(node, f"{path}?apikey=apikey122-{scene.tag}", 9)
    assert ret["status"] == [200] * 8 + [429]
    assert ret["minute_limit"] == ret["limit"] == [8] * 9
    assert ret["remaining"] == [7, 6, 5, 4, 3, 2, 1, 0, 0]
