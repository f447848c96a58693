"""The prometheus plugin through a real node (two workers): the scrape of the
Status API and of the Admin API parsed by prometheus_client's parser; counts,
labels, buckets and gauges after real proxied requests."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import dashboard
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.prometheus import scrape, scrape_until
from tests.helpers.servers import EchoServer, free_port

ALL_ON = {"per_consumer": True, "status_code_metrics": True, "latency_metrics": True,
          "bandwidth_metrics": True, "upstream_health_metrics": True}
KONG_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000]
UPSTREAM_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000]
REQUESTS = "kong_http_requests_total"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """Two workers; reuseport spreads new connections over both by their port."""
    require_binary("nginx")
    ports = {"proxy": free_port(), "proxy_ssl": free_port(), "admin": free_port()}
    status = free_port()
    gw = Gateway(tmp_path_factory.mktemp("prometheus"), ports=ports, extra={
        "proxy_listen": f"127.0.0.1:{ports['proxy']} reuseport",
        "status_listen": f"127.0.0.1:{status}"}).start()
    gw.metrics = f"http://127.0.0.1:{status}/metrics"
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def slow():
    server = EchoServer("slow", delay=0.12).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(node, upstream, slow):
    """Routes of the service ``psvc`` (and ``pslow``) with the global plugin, all switches on."""
    api = admin(node)
    api.post("/services", {"name": "psvc", "url": upstream.url})
    api.post("/services", {"name": "pslow", "url": slow.url})
    node.route("/p-open", {"name": "correlation-id",
                           "config": {"generator": "tracker", "echo_downstream": True}},
               service="psvc")
    node.route("/p-auth", {"name": "key-auth"}, service="psvc")
    node.route("/p-term", {"name": "request-termination", "config": {"status_code": 404}},
               service="psvc")
    node.route("/p-bw", service="psvc")
    node.route("/p-slow", service="pslow")
    # an instance on the route itself wins over the global one: nothing counted
    node.route("/p-quiet", {"name": "prometheus"}, service="psvc")
    api.post("/consumers", {"username": "alice"})
    api.post("/consumers/alice/key-auth", {"key": "alice-key"})
    api.post("/plugins", {"name": "prometheus", "config": ALL_ON})
    node.wait_sync()
    return node


def worker_of(resp: requests.Response) -> str:
    """The worker's pid, from correlation-id's tracker (address-port-pid-...)."""
    return resp.headers["Kong-Request-ID"].split("-")[2]


def test_requests_counted_across_workers_with_kong_labels(served):
    node = served
    pids, sent = set(), 0
    while len(pids) < 2 or sent < 20:
        resp = requests.get(node.proxy + "/p-open", headers={"Connection": "close"}, timeout=5)
        assert resp.status_code == 200
        pids.add(worker_of(resp))
        sent += 1
        assert sent < 300, "one worker took every connection"
    for _ in range(3):
        assert requests.get(node.proxy + "/p-auth", timeout=5).status_code == 401
    for _ in range(4):
        assert requests.get(node.proxy + "/p-auth", headers={"apikey": "alice-key"},
                            timeout=5).status_code == 200
    for _ in range(2):
        assert requests.get(node.proxy + "/p-term", timeout=5).status_code == 404
    assert requests.get(node.proxy + "/no-such-route", timeout=5).status_code == 404
    for _ in range(2):
        assert requests.get(node.proxy + "/p-quiet", timeout=5).status_code == 200

    base = {"service": "psvc", "workspace": "default"}
    result = scrape_until(node.metrics, lambda s: s.value(
        REQUESTS, route="p-term", code="404") == 2 and s.value(
        REQUESTS, route="p-open", code="200") == sent)
    assert result.type_of(REQUESTS) == "counter"
    assert result.help_of(REQUESTS) == "HTTP status codes per consumer/service/route in Kong"
    assert result.value(REQUESTS, route="p-open", code="200", source="service",
                        consumer="", **base) == sent
    assert result.value(REQUESTS, route="p-auth", code="401", source="kong", consumer="",
                        **base) == 3
    assert result.value(REQUESTS, route="p-auth", code="200", source="service",
                        consumer="alice", **base) == 4
    assert result.value(REQUESTS, route="p-term", code="404", source="kong", consumer="",
                        **base) == 2
    # Kong's label set and order
    sample = result.find(REQUESTS, route="p-term")[0]
    assert list(sample.labels) == ["service", "route", "code", "source", "workspace", "consumer"]
    # only requests that matched a route, and none of a route whose own
    # instance has every switch off
    routes = {s.labels.get("route") for s in result.samples if "route" in s.labels}
    assert routes <= {"p-open", "p-auth", "p-term", "p-bw", "p-slow"}, routes
    assert "p-quiet" not in result.text and "no-such-route" not in result.text
    assert result.value("kong_nginx_metric_errors_total") == 0
    # the Admin API serves the same text (the data plane's, over the control socket)
    via_admin = scrape(node.admin + "/metrics")
    assert via_admin.value(REQUESTS, route="p-open", code="200") == sent


def test_latency_histograms_have_kong_buckets(served):
    node = served
    for _ in range(3):
        assert requests.get(node.proxy + "/p-slow", timeout=5).status_code == 200
    count = "kong_upstream_latency_ms_count"
    result = scrape_until(node.metrics, lambda s: s.value(count, route="p-slow") == 3)
    labels = {"service": "pslow", "route": "p-slow", "workspace": "default"}
    for family, bounds in (("kong_kong_latency_ms", KONG_BUCKETS),
                           ("kong_upstream_latency_ms", UPSTREAM_BUCKETS),
                           ("kong_request_latency_ms", UPSTREAM_BUCKETS)):
        assert result.type_of(family) == "histogram"
        buckets = result.find(family + "_bucket", **labels)
        les = [b.labels["le"] for b in buckets]
        assert [float(le) for le in les if le != "+Inf"] == [float(b) for b in bounds], les
        # Kong's zero-padded bounds, one width per histogram
        assert len({len(le) for le in les if le != "+Inf"}) == 1, les
        counts = [b.value for b in sorted(buckets, key=lambda b: float(b.labels["le"]))]
        assert counts == sorted(counts) and counts[-1] == 3, counts
        assert result.value(family + "_count", **labels) == 3
    # the upstream waited 120 ms per request: nothing at or under 100 ms
    upstream = {b.labels["le"]: b.value
                for b in result.find("kong_upstream_latency_ms_bucket", **labels)}
    assert upstream["00100.0"] == 0 and upstream["00250.0"] == 3, upstream
    assert result.value("kong_upstream_latency_ms_sum", **labels) >= 360
    assert result.value("kong_request_latency_ms_sum", **labels) >= 360
    assert sorted(s.labels.get("le") is None for s in result.find(
        "kong_kong_latency_ms_sum", **labels)) == [True]


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while True:
            data = conn.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_bandwidth_counts_the_bytes_on_the_wire(served):
    node = served
    body = b"x" * 1234
    request = (b"POST /p-bw HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n"
               b"Content-Length: 1234\r\n\r\n" + body)
    answer = raw_exchange(node.ports["proxy"], request)
    assert answer.startswith(b"HTTP/1.1 200")
    labels = {"service": "psvc", "route": "p-bw", "workspace": "default", "consumer": ""}
    name = "kong_bandwidth_bytes"
    result = scrape_until(node.metrics, lambda s: s.value(name, direction="egress",
                                                          **labels) is not None)
    assert result.type_of(name) == "counter"
    assert result.value(name, direction="ingress", **labels) == len(request)
    assert result.value(name, direction="egress", **labels) == len(answer)
    sample = result.find(name, direction="ingress", **labels)[0]
    assert list(sample.labels) == ["service", "route", "direction", "workspace", "consumer"]


def test_node_metrics(served):
    node = served
    result = scrape(node.metrics)
    root = admin(node).get("/")
    node_id = root["node_id"]
    assert result.value("kong_node_info", node_id=node_id, version=root["version"]) == 1
    assert result.value("kong_datastore_reachable") == 1
    states = {s.labels["state"]: s.value
              for s in result.find("kong_nginx_connections_total", node_id=node_id,
                                   subsystem="http")}
    assert set(states) == {"accepted", "handled", "total", "active", "reading", "writing",
                           "waiting"}
    assert states["accepted"] >= states["active"] >= 1
    total = result.value("kong_nginx_requests_total", node_id=node_id, subsystem="http")
    assert total == states["total"] and total > 20
    timers = {s.labels["state"] for s in result.find("kong_nginx_timers")}
    assert timers == {"running", "pending"}
    assert result.value("kong_memory_lua_shared_dict_total_bytes", node_id=node_id,
                        shared_dict="prometheus_metrics", kong_subsystem="http") == 5 * 2 ** 20
    assert result.value("kong_memory_lua_shared_dict_bytes", node_id=node_id,
                        shared_dict="prometheus_metrics", kong_subsystem="http") > 0
    assert len(result.find("kong_memory_workers_lua_vms_bytes", node_id=node_id,
                           kong_subsystem="http")) == 2
    for name in ("kong_node_info", "kong_datastore_reachable", "kong_nginx_connections_total",
                 "kong_nginx_requests_total", "kong_nginx_timers",
                 "kong_memory_lua_shared_dict_bytes", "kong_memory_workers_lua_vms_bytes"):
        assert result.type_of(name) == "gauge", name
    node.assert_clean_error_log()


def health_states(result, upstream: str, target: str) -> dict[str, float]:
    return {s.labels["state"]: s.value
            for s in result.find("kong_upstream_target_health", upstream=upstream,
                                 target=target, subsystem="http")}


def test_upstream_target_health(served, upstream):
    node = served
    api = admin(node)
    dead = f"127.0.0.1:{free_port()}"
    live = f"127.0.0.1:{upstream.port}"
    checks = {"type": "http", "http_path": "/", "timeout": 1,
              "healthy": {"interval": 0.3, "successes": 1},
              "unhealthy": {"interval": 0.3, "http_failures": 1, "tcp_failures": 1,
                            "timeouts": 1}}
    api.post("/upstreams", {"name": "checked", "healthchecks": {"active": checks}})
    api.post("/upstreams/checked/targets", {"target": live})
    api.post("/upstreams/checked/targets", {"target": dead})
    api.post("/upstreams", {"name": "unchecked"})
    api.post("/upstreams/unchecked/targets", {"target": live})
    node.wait_sync()

    result = scrape_until(node.metrics, lambda s: health_states(
        s, "checked", dead).get("unhealthy") == 1 and health_states(
        s, "checked", live).get("healthy") == 1, timeout=10)
    assert result.type_of("kong_upstream_target_health") == "gauge"
    assert health_states(result, "checked", dead) == {
        "healthchecks_off": 0, "healthy": 0, "unhealthy": 1, "dns_error": 0}
    assert health_states(result, "checked", live) == {
        "healthchecks_off": 0, "healthy": 1, "unhealthy": 0, "dns_error": 0}
    assert health_states(result, "unchecked", live) == {
        "healthchecks_off": 1, "healthy": 0, "unhealthy": 0, "dns_error": 0}
    sample = result.find("kong_upstream_target_health", upstream="checked", target=dead)[0]
    assert sample.labels["address"] == dead
    assert list(sample.labels) == ["upstream", "target", "address", "state", "subsystem"]


def test_every_dashboard_query_meets_a_real_sample(served):
    """docs/grafana/kongpy.json: each metric it queries is in a scrape of this
    node (every switch on, upstream health included) with the labels the
    dashboard filters and groups on."""
    result = scrape(served.metrics)
    for name, labels in dashboard.labels_by_metric().items():
        samples = result.find(name)
        assert samples, f"{name}: not exported"
        have = set(samples[0].labels) | {"instance"}  # Prometheus adds instance
        assert labels <= have, (name, labels - have)


def test_switches_off_count_nothing_more(served):
    """Last in the module: the global instance with every switch off."""
    node = served
    before = scrape_until(node.metrics, lambda s: s.find("kong_upstream_target_health"))
    assert before.find("kong_upstream_target_health")
    counted = before.value(REQUESTS, route="p-open", code="200")
    egress = before.value("kong_bandwidth_bytes", route="p-open", direction="egress")
    latency = before.value("kong_request_latency_ms_count", route="p-open")
    plugin = [p for p in admin(node).get("/plugins?size=100")["data"]
              if p["name"] == "prometheus" and p["route"] is None][0]
    admin(node).patch(f"/plugins/{plugin['id']}", {"config": {
        k: False for k in ALL_ON}})
    node.wait_sync()
    for _ in range(5):
        assert requests.get(node.proxy + "/p-open", timeout=5).status_code == 200
    time.sleep(1.5)  # every worker has flushed what it counted
    after = scrape(node.metrics)
    assert after.value(REQUESTS, route="p-open", code="200") == counted
    assert after.value("kong_bandwidth_bytes", route="p-open", direction="egress") == egress
    assert after.value("kong_request_latency_ms_count", route="p-open") == latency
    # computed at scrape time: gone once no instance asks for it
    assert not after.find("kong_upstream_target_health")
    assert after.value("kong_datastore_reachable") == 1


def test_a_full_dict_loses_new_counts_not_old_ones(tmp_path, upstream):
    require_binary("nginx")
    status = free_port()
    gw = Gateway(tmp_path, workers=1, extra={
        "status_listen": f"127.0.0.1:{status}",
        "nginx_http_lua_shared_dict": "prometheus_metrics 32k"}).start()
    try:
        url = f"http://127.0.0.1:{status}/metrics"
        gw.create("/services", {"name": "s", "url": upstream.url})
        gw.create("/plugins", {"name": "prometheus", "config": {"status_code_metrics": True}})
        gw.create("/services/s/routes", {"name": "first", "paths": ["/first"]})
        gw.wait_sync()
        assert requests.get(gw.proxy + "/first", timeout=5).status_code == 200
        assert scrape_until(url, lambda s: s.value(REQUESTS, route="first") == 1).value(
            REQUESTS, route="first") == 1
        for i in range(200):
            gw.create("/services/s/routes", {"name": f"r{i}", "paths": [f"/r{i}"]})
        gw.wait_sync()
        for i in range(200):
            assert requests.get(gw.proxy + f"/r{i}", timeout=5).status_code == 200
        result = scrape_until(url, lambda s: s.value("kong_nginx_metric_errors_total") > 0)
        assert result.value("kong_nginx_metric_errors_total") > 0
        # the first count is kept: a full dict never evicts
        assert result.value(REQUESTS, route="first") == 1
        assert 1 < len(result.find(REQUESTS)) < 201
        # logged once, by the timer (error.log) or by a scrape (the Status
        # API's own error log) that flushed first
        logs = "".join((gw.prefix / "logs" / name).read_text()
                       for name in ("error.log", "status_error.log"))
        assert logs.count("the shared dict 'prometheus_metrics' is full") == 1
    finally:
        gw.stop()
