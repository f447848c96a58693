"""Health checks of upstream targets with Kong's semantics, on a real node
(two workers) in front of three real upstream servers: active probes from
one prober per node, passive checks fed by traffic, manual overrides through
the Admin API, the balancer's threshold, and the state kept across
configuration changes that do not touch the health checks."""
from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.servers import SwitchServer, free_port

NO_PEER = "failure to get a peer from the ring-balancer"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_binary("nginx")
    gw = Gateway(tmp_path_factory.mktemp("health"), workers=2).start()
    yield gw
    gw.stop()


@pytest.fixture
def servers():
    trio = [SwitchServer(name).start() for name in ("a", "b", "c")]
    yield trio
    for server in trio:
        server.stop()


_counter = iter(range(1_000_000))


def balanced(node: Gateway, servers, healthchecks: dict, **upstream) -> dict:
    """An upstream over ``servers`` with a service and a route, served; returns
    {"upstream", "targets" (by server name), "path"}."""
    n = next(_counter)
    name = f"up{n}.test"
    api = admin(node)
    up = api.post("/upstreams", {"name": name, "healthchecks": healthchecks, **upstream})
    targets = {}
    for server in servers:
        targets[server.name] = api.post(f"/upstreams/{name}/targets",
                                        {"target": f"127.0.0.1:{server.port}"})
    api.post("/services", {"name": f"svc{n}", "host": name, "port": 80,
                           "retries": 5, "connect_timeout": 500, "read_timeout": 2000})
    api.post(f"/services/svc{n}/routes", {"paths": [f"/r{n}"]})
    node.wait_sync()
    return {"upstream": up, "targets": targets, "path": f"/r{n}"}


def spread(node: Gateway, path: str, count: int = 30) -> tuple[Counter, Counter]:
    """(statuses, answering server names) of ``count`` requests, each on a new
    connection so both workers take some."""
    statuses, names = Counter(), Counter()
    for _ in range(count):
        resp = requests.get(node.proxy + path, timeout=10, headers={"Connection": "close"})
        statuses[resp.status_code] += 1
        if resp.status_code == 200:
            names[resp.json()["name"]] += 1
    return statuses, names


def health(node: Gateway, up: dict) -> dict[str, str]:
    """Target health by target string, as GET /upstreams/{u}/health shows it."""
    body = admin(node).get(f"/upstreams/{up['id']}/health")
    return {row["target"]: row.get("health") for row in body["data"]}


def target_of(server) -> str:
    return f"127.0.0.1:{server.port}"


def eventually(check, timeout: float = 8.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def active(interval: float = 0.5, **over) -> dict:
    checks = {"type": "http", "http_path": "/status", "timeout": 1,
              "healthy": {"interval": interval, "successes": 1},
              "unhealthy": {"interval": interval, "http_failures": 1, "tcp_failures": 1,
                            "timeouts": 1}}
    checks.update(over)
    return {"active": checks}


PASSIVE_OFF = {"passive": {"unhealthy": {"tcp_failures": 0}}}


def test_active_checks_take_a_target_out_and_bring_it_back(node, servers):
    a, b, c = servers
    lb = balanced(node, servers, active())
    up = lb["upstream"]
    assert eventually(lambda: a.count("/status") >= 1 and c.count("/status") >= 1)
    assert set(health(node, up).values()) == {"HEALTHY"}

    b.set(status=500)
    assert eventually(lambda: health(node, up)[target_of(b)] == "UNHEALTHY"), health(node, up)
    statuses, names = spread(node, lb["path"])
    assert statuses == Counter({200: 30}) and set(names) == {"a", "c"}, (statuses, names)

    b.set(status=200)
    assert eventually(lambda: health(node, up)[target_of(b)] == "HEALTHY"), health(node, up)
    statuses, names = spread(node, lb["path"])
    assert statuses == Counter({200: 30}) and set(names) == {"a", "b", "c"}, (statuses, names)
    node.assert_clean_error_log()
