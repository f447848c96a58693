"""Kong 3.9's log object (kong.log.serialize), field by field, as http-log
delivers it to a real collector: a request authenticated by key-auth and
balanced over an upstream whose first target refuses the connection."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.helpers.collectors import HttpCollector
from tests.helpers.http import admin
from tests.helpers.servers import free_port

DEFAULT_WORKSPACE = "cfc6baef-994b-5511-a3b4-ce121797b8ec"


@pytest.fixture(scope="module")
def node(start_node):
    return start_node(workers=1)


@pytest.fixture(scope="module")
def collector():
    server = HttpCollector().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def setup(node, upstream, collector):
    refused = free_port()
    node.create("/upstreams", {"name": "logged-up"})
    node.create("/upstreams/logged-up/targets", {"target": f"127.0.0.1:{refused}"})
    node.create("/upstreams/logged-up/targets", {"target": f"127.0.0.1:{upstream.port}"})
    service = node.create("/services", {"name": "logged", "host": "logged-up"})
    route = node.create("/services/logged/routes",
                        {"name": "logged", "paths": ["/logged"], "strip_path": False})
    node.create(f"/routes/{route['id']}/plugins", {"name": "key-auth"})
    node.create(f"/routes/{route['id']}/plugins", {"name": "http-log", "config": {
        "http_endpoint": collector.url + "/log"}})
    consumer = node.create("/consumers", {"username": "bob", "custom_id": "b-1"})
    key = node.create("/consumers/bob/key-auth", {"key": "bob-key"})
    node.wait_sync()
    return {"refused": refused, "service": service, "route": route, "consumer": consumer,
            "key": key}


def raw_get(node, target: str) -> tuple[bytes, bytes]:
    """Sends one request byte for byte; returns (request, whole response)."""
    request = (f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{node.ports['proxy']}\r\n"
               "apikey: bob-key\r\nAuthorization: Bearer secret\r\nX-Multi: a\r\n"
               "X-Multi: b\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", node.ports["proxy"]), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return request, b"".join(chunks)


def parse_response(raw: bytes) -> tuple[int, dict[str, str]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


def without_nulls(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if v is not None}


def retried_entry(node, collector) -> tuple[dict, bytes, bytes]:
    """A request whose first try went to the refusing target (round-robin
    alternates, so one of two consecutive requests starts there)."""
    for i in range(4):
        collector.clear()
        request, response = raw_get(node, f"/logged?a=1&b=two&i={i}")
        entry = collector.wait_for(1)[0].json()
        if len(entry["tries"]) == 2:
            return entry, request, response
    raise AssertionError("no request tried the refusing target first")


def test_the_log_object_field_by_field(node, setup, collector, upstream):
    started = time.time() * 1000
    entry, request, response = retried_entry(node, collector)
    status, headers = parse_response(response)
    assert status == 200
    port = node.ports["proxy"]
    target = entry["request"]["uri"]

    assert set(entry) == {"request", "upstream_uri", "upstream_status", "response",
                          "latencies", "tries", "authenticated_entity", "route", "service",
                          "consumer", "client_ip", "started_at", "source", "workspace",
                          "workspace_name"}

    req = entry["request"]
    assert set(req) == {"id", "uri", "url", "querystring", "method", "headers", "size"}
    assert req["id"] == headers["x-kong-request-id"]
    assert target.startswith("/logged?a=1&b=two&i=")
    assert req["url"] == f"http://127.0.0.1:{port}{target}"
    assert req["querystring"] == {"a": "1", "b": "two", "i": target.rsplit("=", 1)[1]}
    assert req["method"] == "GET"
    # as the upstream got them: key-auth's consumer headers included
    assert req["headers"] == {"host": f"127.0.0.1:{port}", "apikey": "bob-key",
                              "authorization": "REDACTED", "x-multi": ["a", "b"],
                              "connection": "close", "x-consumer-id": setup["consumer"]["id"],
                              "x-consumer-username": "bob", "x-consumer-custom-id": "b-1",
                              "x-credential-identifier": setup["key"]["id"]}
    assert req["size"] == len(request)

    assert entry["upstream_uri"] == target
    assert entry["upstream_status"] == "502, 200"

    resp = entry["response"]
    assert resp["status"] == 200
    assert resp["size"] == len(response)
    assert resp["headers"] == headers

    first, second = entry["tries"]
    assert (first["ip"], first["port"]) == ("127.0.0.1", setup["refused"])
    assert (first["state"], first["code"]) == ("failed", 502)
    assert (second["ip"], second["port"]) == ("127.0.0.1", upstream.port)
    assert "state" not in second and "code" not in second
    for t in (first, second):
        assert set(t) >= {"ip", "port", "balancer_start", "balancer_start_ns",
                          "balancer_latency", "balancer_latency_ns"}
        assert started - 1 <= t["balancer_start"] <= time.time() * 1000
        assert abs(t["balancer_start_ns"] / 1e6 - t["balancer_start"]) < 2
        assert 0 <= t["balancer_latency"] <= t["balancer_latency_ns"] / 1e6 + 1
    assert second["balancer_start"] >= first["balancer_start"] + first["balancer_latency"]

    lat = entry["latencies"]
    assert set(lat) == {"kong", "proxy", "request", "receive"}
    # Kong: until the last try's peer was set, from the request's start
    assert lat["kong"] == (second["balancer_start"] + second["balancer_latency"]
                           - entry["started_at"])
    assert 0 <= lat["proxy"] <= int(headers["x-kong-upstream-latency"])
    assert lat["receive"] >= 0
    assert lat["kong"] + lat["proxy"] + lat["receive"] <= lat["request"] + 1

    assert entry["authenticated_entity"] == {"id": setup["key"]["id"],
                                             "consumer_id": setup["consumer"]["id"]}
    api = admin(node)
    for name, path in (("route", f"/routes/{setup['route']['id']}"),
                       ("service", "/services/logged"), ("consumer", "/consumers/bob")):
        assert entry[name] == {**without_nulls(api.get(path)), "ws_id": DEFAULT_WORKSPACE}

    assert entry["client_ip"] == "127.0.0.1"
    assert started - 1000 <= entry["started_at"] <= time.time() * 1000
    assert entry["source"] == "upstream"
    assert entry["workspace"] == DEFAULT_WORKSPACE
    assert entry["workspace_name"] == "default"


def test_a_request_kong_answers_itself(node, setup, collector):
    collector.clear()
    with socket.create_connection(("127.0.0.1", node.ports["proxy"]), timeout=10) as sock:
        sock.sendall(b"GET /logged?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    entry = collector.wait_for(1)[0].json()
    assert entry["response"]["status"] == 401
    assert entry["source"] == "kong"
    assert "tries" not in entry and "authenticated_entity" not in entry
    assert "consumer" not in entry
    assert entry["upstream_status"] == ""
    assert entry["latencies"]["proxy"] == -1 and entry["latencies"]["receive"] == 0
    assert 0 <= entry["latencies"]["kong"] <= entry["latencies"]["request"] + 1
    assert entry["request"]["querystring"] == {"x": True}
    assert entry["workspace_name"] == "default"


def test_tls_of_the_client_connection(node, setup, collector):
    collector.clear()
    resp = requests.get(f"{node.proxy_ssl}/logged?tls=1", headers={"apikey": "bob-key"},
                        verify=False, timeout=10)
    assert resp.status_code == 200
    entry = collector.wait_for(1)[0].json()
    tls = entry["request"]["tls"]
    assert tls["version"] in ("TLSv1.2", "TLSv1.3")
    assert tls["cipher"] and tls["client_verify"] == "NONE"
    assert entry["request"]["url"] == f"https://127.0.0.1:{node.ports['proxy_ssl']}/logged?tls=1"


def test_a_service_that_refuses_every_try(node, setup, collector):
    dead = free_port()
    node.create("/services", {"name": "dead", "url": f"http://127.0.0.1:{dead}",
                              "retries": 2})
    route = node.create("/services/dead/routes", {"paths": ["/dead"]})
    node.create(f"/routes/{route['id']}/plugins", {"name": "http-log", "config": {
        "http_endpoint": collector.url + "/log"}})
    node.wait_sync()
    collector.clear()
    with socket.create_connection(("127.0.0.1", node.ports["proxy"]), timeout=10) as sock:
        sock.sendall(b"GET /dead HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    entry = collector.wait_for(1)[0].json()
    assert entry["response"]["status"] == 502
    assert entry["source"] == "kong"
    assert entry["upstream_status"] == "502, 502, 502"
    tries = entry["tries"]
    assert [(t["port"], t.get("state"), t.get("code")) for t in tries] == [
        (dead, "failed", 502), (dead, "failed", 502), (dead, None, None)]
    last = tries[-1]
    assert entry["latencies"]["kong"] == (last["balancer_start"] + last["balancer_latency"]
                                          - entry["started_at"])
    assert entry["latencies"]["proxy"] >= 0
