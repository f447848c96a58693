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
from tests.helpers.servers import SwitchServer

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


def balanced(node: Gateway, servers, healthchecks: dict, read_timeout: int = 2000,
             **upstream) -> dict:
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
                           "retries": 5, "connect_timeout": 500, "read_timeout": read_timeout})
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


def test_passive_checks_take_out_a_refusing_target_without_failed_requests(node, servers):
    a, b, c = servers
    b.stop()  # connections to b are refused
    checks = {"passive": {"unhealthy": {"tcp_failures": 1}},
              # probes only while unhealthy: they bring b back
              **active(interval=0, unhealthy={"interval": 0.5, "tcp_failures": 0})}
    checks["active"]["healthy"] = {"interval": 0, "successes": 1}
    lb = balanced(node, servers, checks)
    up = lb["upstream"]
    statuses, names = spread(node, lb["path"], 40)
    assert statuses == Counter({200: 40}), statuses
    assert set(names) == {"a", "c"}
    assert health(node, up)[target_of(b)] == "UNHEALTHY"

    b.start()
    assert eventually(lambda: health(node, up)[target_of(b)] == "HEALTHY"), health(node, up)
    assert b.count("/status") >= 1
    statuses, names = spread(node, lb["path"], 30)
    assert statuses == Counter({200: 30}) and names["b"] > 0, (statuses, names)


def test_passive_checks_take_out_a_timing_out_target_without_failed_requests(node, servers):
    a, b, c = servers
    b.set(delay=2.0)
    lb = balanced(node, servers, {"passive": {"unhealthy": {"timeouts": 2}}}, read_timeout=300)
    up = lb["upstream"]
    statuses, names = spread(node, lb["path"], 30)
    assert statuses == Counter({200: 30}) and set(names) == {"a", "c"}, (statuses, names)
    assert health(node, up)[target_of(b)] == "UNHEALTHY"
    # two timeouts, one per request that met b, then b got nothing more
    assert b.count("/") == 2, b.hits


def test_passive_http_failures_count_consecutive_answers_per_threshold(node, servers):
    a, b, c = servers
    lb = balanced(node, servers,
                  {"passive": {"unhealthy": {"http_failures": 3, "http_statuses": [500]},
                               "healthy": {"successes": 0}}})
    up = lb["upstream"]
    b.set(status=500)
    # each worker-independent failure of b counts towards one node-wide total
    seen_500 = 0
    for _ in range(60):
        resp = requests.get(node.proxy + lb["path"], timeout=10,
                            headers={"Connection": "close"})
        seen_500 += resp.status_code == 500
        if health(node, up)[target_of(b)] == "UNHEALTHY":
            break
    assert seen_500 == 3, seen_500
    statuses, names = spread(node, lb["path"], 30)
    assert statuses == Counter({200: 30}) and set(names) == {"a", "c"}
    # passive checks never bring a target back (healthy.successes = 0)
    b.set(status=200)
    time.sleep(1)
    assert health(node, up)[target_of(b)] == "UNHEALTHY"


def test_manual_overrides_reach_every_worker_within_a_second(node, servers):
    a, b, c = servers
    lb = balanced(node, servers, {"passive": {"unhealthy": {"tcp_failures": 2}}})
    up, tb = lb["upstream"], lb["targets"]["b"]
    api = admin(node)
    api.put(f"/upstreams/{up['name']}/targets/{tb['target']}/unhealthy", status=204)
    assert health(node, up)[target_of(b)] == "UNHEALTHY"
    statuses, names = spread(node, lb["path"], 40)
    assert statuses == Counter({200: 40}) and set(names) == {"a", "c"}, names

    api.put(f"/upstreams/{up['id']}/targets/{tb['id']}/healthy", status=204)
    assert health(node, up)[target_of(b)] == "HEALTHY"
    statuses, names = spread(node, lb["path"], 40)
    assert statuses == Counter({200: 40}) and set(names) == {"a", "b", "c"}, names

    # one address of a target
    api.put(f"/upstreams/{up['name']}/targets/{tb['target']}/{target_of(b)}/unhealthy",
            status=204)
    body = api.get(f"/upstreams/{up['id']}/health")
    row = next(r for r in body["data"] if r["id"] == tb["id"])
    assert row["health"] == "UNHEALTHY"
    assert row["data"]["addresses"] == [{"ip": "127.0.0.1", "port": b.port, "weight": 100,
                                         "health": "UNHEALTHY"}]
    assert row["data"]["weight"] == {"total": 100, "available": 0, "unavailable": 100}
    _, names = spread(node, lb["path"], 20)
    assert set(names) == {"a", "c"}


def test_manual_override_needs_health_checks(node, servers):
    lb = balanced(node, servers, {})
    up, ta = lb["upstream"], lb["targets"]["a"]
    code, body = admin(node).send("PUT", f"/upstreams/{up['name']}/targets/{ta['id']}/unhealthy")
    assert (code, body) == (400, {"message": f"no healthchecker found for {up['name']}"})
    assert set(health(node, up).values()) == {"HEALTHCHECKS_OFF"}
    body = admin(node).get(f"/upstreams/{up['id']}/health?balancer_health=1")
    assert body["data"]["health"] == "HEALTHCHECKS_OFF"
    assert body["data"]["balancer_health"] == "HEALTHY"
    assert body["next"] is None and body["node_id"]


def test_threshold_and_all_targets_down(node, servers):
    a, b, c = servers
    lb = balanced(node, servers, {"passive": {"unhealthy": {"tcp_failures": 1}},
                                  "threshold": 50})
    up, t = lb["upstream"], lb["targets"]
    api = admin(node)

    def balancer() -> dict:
        return api.get(f"/upstreams/{up['id']}/health?balancer_health=1")["data"]

    api.put(f"/upstreams/{up['id']}/targets/{t['a']['id']}/unhealthy", status=204)
    doc = balancer()
    assert (doc["health"], doc["balancer_health"]) == ("HEALTHY", "HEALTHY")
    assert doc["details"]["weight"] == {"total": 300, "available": 200, "unavailable": 100}
    assert spread(node, lb["path"], 10)[0] == Counter({200: 10})

    # 100 of 300 is not above 50 %: the balancer is unhealthy though c is up
    api.put(f"/upstreams/{up['id']}/targets/{t['b']['id']}/unhealthy", status=204)
    doc = balancer()
    assert (doc["health"], doc["balancer_health"], doc["details"]["healthy"]) == \
        ("UNHEALTHY", "UNHEALTHY", False)
    resp = requests.get(node.proxy + lb["path"], timeout=10,
                        headers={"Accept": "application/json"})
    assert resp.status_code == 503 and resp.json()["message"] == NO_PEER

    # threshold 0: unhealthy only when nothing is available
    api.patch(f"/upstreams/{up['id']}", {"healthchecks": {
        "passive": {"unhealthy": {"tcp_failures": 1}}, "threshold": 0}})
    node.wait_sync()
    for name in ("a", "b", "c"):
        api.put(f"/upstreams/{up['id']}/targets/{t[name]['id']}/unhealthy", status=204)
    resp = requests.get(node.proxy + lb["path"], timeout=10,
                        headers={"Accept": "application/json"})
    assert resp.status_code == 503 and resp.json()["message"] == NO_PEER
    assert balancer()["balancer_health"] == "UNHEALTHY"
    api.put(f"/upstreams/{up['id']}/targets/{t['c']['id']}/healthy", status=204)
    statuses, names = spread(node, lb["path"], 10)
    assert statuses == Counter({200: 10}) and set(names) == {"c"}


def test_state_survives_unrelated_changes_and_resets_with_new_settings(node, servers):
    a, b, c = servers
    checks = {"passive": {"unhealthy": {"tcp_failures": 1}}}
    lb = balanced(node, servers, checks)
    up, t = lb["upstream"], lb["targets"]
    api = admin(node)
    api.put(f"/upstreams/{up['id']}/targets/{t['b']['id']}/unhealthy", status=204)

    # not the health checks: the state stays
    api.patch(f"/upstreams/{up['id']}", {"slots": 20000})
    api.patch(f"/upstreams/{up['id']}/targets/{t['a']['id']}", {"weight": 50})
    api.post("/services", {"name": f"other{next(_counter)}", "url": "http://127.0.0.1:9"})
    node.wait_sync()
    time.sleep(0.5)
    assert health(node, up)[target_of(b)] == "UNHEALTHY"

    # removing and adding the target again starts it healthy
    api.request("DELETE", f"/upstreams/{up['id']}/targets/{t['b']['id']}", status=204)
    node.wait_sync()
    time.sleep(0.5)
    api.post(f"/upstreams/{up['id']}/targets", {"target": target_of(b)})
    node.wait_sync()
    assert eventually(lambda: health(node, up).get(target_of(b)) == "HEALTHY")

    # new health-check settings: the state starts over
    api.put(f"/upstreams/{up['id']}/targets/{target_of(c)}/unhealthy", status=204)
    api.patch(f"/upstreams/{up['id']}", {"healthchecks": {
        "passive": {"unhealthy": {"tcp_failures": 2}}}})
    node.wait_sync()
    assert eventually(lambda: health(node, up)[target_of(c)] == "HEALTHY"), health(node, up)


def test_one_prober_per_node(node, servers):
    a, _b, _c = servers
    lb = balanced(node, servers, active(interval=0.5))
    assert eventually(lambda: a.count("/status") >= 1)
    start = a.count("/status")
    time.sleep(3)
    probes = a.count("/status") - start
    # two workers, one prober: about 6 probes in 3 s at 0.5 s, never twice that
    assert 4 <= probes <= 8, probes
    assert lb["upstream"]["healthchecks"]["active"]["healthy"]["interval"] == 0.5


def test_active_timeouts_and_refused_connections(node, servers):
    a, b, c = servers
    lb = balanced(node, servers, active(timeout=0.3))
    up = lb["upstream"]
    b.set(delay=1.0)
    assert eventually(lambda: health(node, up)[target_of(b)] == "UNHEALTHY")
    b.set(delay=0)
    assert eventually(lambda: health(node, up)[target_of(b)] == "HEALTHY")
    c.stop()
    assert eventually(lambda: health(node, up)[target_of(c)] == "UNHEALTHY")
    statuses, names = spread(node, lb["path"], 20)
    assert statuses == Counter({200: 20}) and set(names) == {"a", "b"}


def test_probes_send_the_configured_request(node, servers):
    a, _b, _c = servers
    balanced(node, servers, active(http_path="/probe/here",
                                   headers={"X-Probe": ["one", "two"]}),
             host_header="backend.example")
    assert eventually(lambda: a.count("/probe/here") >= 1)
    headers = a.last_headers["/probe/here"]
    assert headers["host"] == "backend.example"
    assert headers["x-probe"] in ("one", "two")  # both sent; the server keeps one
    assert headers["connection"] == "close"


def test_tcp_probes_need_only_a_connection(node, servers):
    a, b, _c = servers
    lb = balanced(node, servers, active(type="tcp"))
    up = lb["upstream"]
    b.set(status=500)  # not looked at
    time.sleep(1.5)
    assert health(node, up)[target_of(b)] == "HEALTHY"
    assert a.count("/status") == 0
    b.stop()
    assert eventually(lambda: health(node, up)[target_of(b)] == "UNHEALTHY")
    b.start()
    assert eventually(lambda: health(node, up)[target_of(b)] == "HEALTHY")
