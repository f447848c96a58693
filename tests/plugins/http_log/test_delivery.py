"""http-log through a real node (one worker, so that one queue sees every
entry) and a real HTTP collector (tests/helpers/collectors.py): batching,
retries, credentials from the endpoint's user info, headers, method and
content type, an unreachable collector."""
from __future__ import annotations

import base64
import re
import time

import pytest

from tests.helpers.collectors import HttpCollector
from tests.helpers.http import proxy
from tests.helpers.servers import free_port


@pytest.fixture(scope="module")
def node(start_node):
    return start_node(workers=1)


@pytest.fixture(scope="module")
def collector():
    server = HttpCollector().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(node, upstream):
    return node.create("/services", {"name": "svc", "url": upstream.url})


@pytest.fixture
def fresh(collector):
    collector.clear()
    collector.fail_next(0)
    return collector


def http_log(endpoint: str, **config) -> dict:
    return {"name": "http-log", "config": {"http_endpoint": endpoint, **config}}


def test_one_entry_per_request_as_a_json_object(node, service, fresh):
    node.route("/single", http_log(fresh.url + "/single"))
    node.wait_sync()
    assert proxy(node).get("/single?n=1").status_code == 200
    got = fresh.wait_for(1)[0]
    assert got.method == "POST" and got.path == "/single"
    assert got.headers["content-type"] == "application/json"
    assert int(got.headers["content-length"]) == len(got.body)
    entry = got.json()
    assert isinstance(entry, dict)
    assert entry["request"]["uri"] == "/single?n=1"
    assert entry["response"]["status"] == 200


def test_batches_close_at_max_batch_size_or_after_the_coalescing_delay(node, service, fresh):
    node.route("/batched", http_log(fresh.url + "/batched", queue={
        "max_batch_size": 3, "max_coalescing_delay": 1}))
    node.wait_sync()
    for i in range(3):
        assert proxy(node).get(f"/batched?i={i}").status_code == 200
    batch = fresh.wait_for(1)[0].json()
    assert isinstance(batch, list)
    assert [e["request"]["querystring"]["i"] for e in batch] == ["0", "1", "2"]

    fresh.clear()
    sent_at = time.monotonic()
    assert proxy(node).get("/batched?i=3").status_code == 200
    time.sleep(0.5)
    assert fresh.received() == [], "a batch below max_batch_size waits for the delay"
    lone = fresh.wait_for(1, timeout=5)[0]
    assert time.monotonic() - sent_at >= 0.9
    # max_batch_size above 1: an array, even of one entry (Kong)
    assert [e["request"]["querystring"]["i"] for e in lone.json()] == ["3"]


def test_a_failing_collector_gets_the_same_batch_again_until_it_accepts(node, service, fresh):
    node.route("/retried", http_log(fresh.url + "/retried",
                                    queue={"initial_retry_delay": 0.05}))
    node.wait_sync()
    fresh.fail_next(2, status=503)
    assert proxy(node).get("/retried?r=1").status_code == 200
    attempts = fresh.wait_for(3)
    assert [a.status for a in attempts] == [503, 503, 200]
    assert attempts[0].body == attempts[1].body == attempts[2].body
    time.sleep(0.3)
    assert len(fresh.received()) == 3


def test_user_info_becomes_basic_auth_and_headers_method_content_type(node, service, fresh):
    endpoint = fresh.url.replace("http://", "http://alice:s3cr%3At@") + "/auth?x=1"
    node.route("/auth", http_log(endpoint, method="PUT",
                                 content_type="application/json; charset=utf-8",
                                 headers={"X-Collector-Token": "t0k", "X-Other": "o"}))
    node.wait_sync()
    assert proxy(node).get("/auth").status_code == 200
    got = fresh.wait_for(1)[0]
    assert got.method == "PUT" and got.path == "/auth?x=1"
    # Kong encodes the user info as it stands in the URL
    assert got.headers["authorization"] == "Basic " + base64.b64encode(
        b"alice:s3cr%3At").decode()
    assert got.headers["content-type"] == "application/json; charset=utf-8"
    assert got.headers["x-collector-token"] == "t0k" and got.headers["x-other"] == "o"
    assert got.headers["host"] == f"127.0.0.1:{fresh.port}"
    # the credentials never reach the error log through the queue's name
    assert "s3cr" not in (node.prefix / "logs" / "error.log").read_text(errors="replace")


def test_an_unreachable_collector_costs_requests_nothing_and_is_reported_at_a_bounded_rate(
        node, service):
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    node.route("/unreachable", http_log(dead, queue={"initial_retry_delay": 0.01,
                                                     "max_retry_delay": 0.05}))
    node.wait_sync()
    log = node.prefix / "logs" / "error.log"
    before = len(log.read_text(errors="replace").splitlines())
    for _ in range(30):
        assert proxy(node).get("/unreachable").status_code == 200
    time.sleep(1.5)
    lines = log.read_text(errors="replace").splitlines()[before:]
    failures = [line for line in lines if "failed request to 127.0.0.1" in line]
    # dozens of failed attempts in that time, reported once per queue and interval
    assert 1 <= len(failures) <= 2, failures
    assert re.search(r"connection refused", failures[0])


def test_a_collector_that_comes_back_receives_what_was_queued(node, service):
    late = HttpCollector()
    node.route("/late", http_log(late.url + "/late", queue={"initial_retry_delay": 0.05,
                                                            "max_retry_delay": 0.2}))
    node.wait_sync()
    assert proxy(node).get("/late?q=1").status_code == 200
    time.sleep(0.5)
    late.up()
    try:
        entry = late.wait_for(1, timeout=10)[0].json()
        assert entry["request"]["querystring"] == {"q": "1"}
    finally:
        late.stop()


def test_custom_fields_by_lua_run_in_the_sandbox(node, service, fresh):
    node.route("/custom", http_log(fresh.url + "/custom", custom_fields_by_lua={
        "region": "return 'eu-west'",
        "caller.agent": "return kong.request.get_header('user-agent')",
        "request.headers.x-secret": "return nil",
        "upstream_uri": "return ngx.var.request_uri .. '#seen'",
    }))
    node.wait_sync()
    resp = proxy(node).get("/custom?k=v", headers={"User-Agent": "probe/1",
                                                   "X-Secret": "hidden"})
    assert resp.status_code == 200
    entry = fresh.wait_for(1)[0].json()
    assert entry["region"] == "eu-west"
    assert entry["caller"] == {"agent": "probe/1"}
    assert "x-secret" not in entry["request"]["headers"]
    assert entry["upstream_uri"] == "/custom?k=v#seen"


def test_instances_with_the_same_endpoint_and_parameters_share_a_queue(node, service, fresh):
    same = {"queue": {"max_batch_size": 2, "max_coalescing_delay": 30}}
    node.route("/shared-a", http_log(fresh.url + "/shared", **same))
    node.route("/shared-b", http_log(fresh.url + "/shared", **same))
    node.wait_sync()
    assert proxy(node).get("/shared-a").status_code == 200
    assert proxy(node).get("/shared-b").status_code == 200
    # one batch of two: a queue per instance would wait 30 s for a second entry
    batch = fresh.wait_for(1, timeout=5)[0].json()
    assert sorted(e["request"]["uri"] for e in batch) == ["/shared-a", "/shared-b"]


def test_an_https_endpoint_is_used_without_verifying_its_certificate(node, service):
    secure = HttpCollector(tls=True).start()
    try:
        node.route("/secure", http_log(secure.url + "/secure"))
        node.wait_sync()
        assert proxy(node).get("/secure").status_code == 200
        got = secure.wait_for(1)[0]
        assert got.path == "/secure" and got.json()["request"]["uri"] == "/secure"
    finally:
        secure.stop()
