"""request-termination through a real node: status, message, body, trigger and
the echo of the request."""
from __future__ import annotations

import json

from tests.helpers.http import proxy


def test_request_termination(gateway, svc):
    gw = gateway
    gw.route("/rt-default", {"name": "request-termination"})
    gw.route("/rt-msg", {"name": "request-termination",
                         "config": {"status_code": 403, "message": "Go away"}})
    gw.route("/rt-body", {"name": "request-termination", "config": {
        "status_code": 200, "body": "<h1>hi</h1>", "content_type": "text/html"}})
    gw.route("/rt-empty", {"name": "request-termination", "config": {"status_code": 418}})
    gw.route("/rt-trigger", {"name": "request-termination",
                             "config": {"status_code": 404, "trigger": "X-Stop"}})
    gw.wait_sync()
    resp = proxy(gw).get("/rt-default")
    assert resp.status_code == 503
    assert resp.json() == {"message": "Service unavailable"}
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.headers["Server"].startswith("kongpy/")
    resp = proxy(gw).get("/rt-msg")
    assert (resp.status_code, resp.json()) == (403, {"message": "Go away"})
    resp = proxy(gw).get("/rt-body")
    assert (resp.status_code, resp.text) == (200, "<h1>hi</h1>")
    assert resp.headers["Content-Type"] == "text/html"
    resp = proxy(gw).get("/rt-empty")
    assert (resp.status_code, resp.content) == (418, b"")
    assert proxy(gw).get("/rt-trigger").json()["method"] == "GET"  # proxied
    resp = proxy(gw).get("/rt-trigger", headers={"X-Stop": "1"})
    assert (resp.status_code, resp.json()) == (404, {"message": "Not found"})
    assert proxy(gw).get("/rt-trigger?X-Stop").status_code == 404
    assert proxy(gw).get("/rt-trigger?x-stop=1").status_code == 200  # query names are exact


def test_request_termination_echo(gateway, svc):
    gw = gateway
    route = gw.route("/rt-echo", {"name": "request-termination",
                                  "config": {"echo": True, "status_code": 200}})
    gw.wait_sync()
    resp = proxy(gw).post("/rt-echo/x?q=1&q=2", json={"a": 1}, headers={"X-Hello": "world"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.json()
    assert "message" not in body  # no default message for 200
    req = body["request"]
    assert req["method"] == "POST" and req["path"] == "/rt-echo/x"
    assert req["scheme"] == "http" and req["host"] == "127.0.0.1"
    assert req["port"] == gw.ports["proxy"]
    assert req["query"] == {"q": ["1", "2"]}
    assert req["headers"]["x-hello"] == "world"
    assert req["body"] == {"a": 1}
    assert json.loads(req["raw_body"]) == {"a": 1}
    assert body["matched_route"]["id"] == route["id"]
    assert body["matched_service"]["name"] == "svc"
    assert isinstance(body["kong"]["worker_pid"], int)
    assert body["kong"]["node_id"] and body["kong"]["hostname"]


def test_request_termination_echo_uri_captures(gateway, svc):
    gw = gateway
    route = gw.create("/services/svc/routes", {"name": "rt-captures",
                                               "paths": [r"~/rt-cap/(?<word>[a-z]+)/(\d+)$"]})
    gw.create(f"/routes/{route['id']}/plugins", {"name": "request-termination",
                                                 "config": {"echo": True, "status_code": 200}})
    gw.route("/rt-echo-plain", {"name": "request-termination",
                                "config": {"echo": True, "status_code": 200}})
    gw.wait_sync()
    req = proxy(gw).get("/rt-cap/abc/42").json()["request"]
    assert req["uri_captures"] == {"unnamed": ["abc", "42"], "named": {"word": "abc"}}
    # a plain path has no captures: an empty array and an empty object, as Kong
    resp = proxy(gw).get("/rt-echo-plain")
    assert resp.json()["request"]["uri_captures"] == {"unnamed": [], "named": {}}
