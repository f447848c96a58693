"""request-termination against the scenarios of Kong's access spec: default
and custom statuses, messages and bodies, a service-less route, 204 without
Content-Length, and the echo with and without its trigger."""
from __future__ import annotations

from tests.helpers.http import proxy

NAME = "request-termination"


def _route(gw, host: str, config: dict, service: bool = True) -> dict:
    path = "/services/svc/routes" if service else "/routes"
    route = gw.create(path, {"hosts": [host]})
    gw.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": config})
    return route


def _get(gw, host: str, path: str = "/status/200", **kwargs):
    return proxy(gw).request(kwargs.pop("method", "GET"), path,
                             headers={"Host": host, **kwargs.pop("headers", {})}, **kwargs)


def test_statuses_messages_and_bodies(gateway, svc):
    gw = gateway
    _route(gw, "api1.test", {})
    _route(gw, "api2.test", {"status_code": 404})
    _route(gw, "api3.test", {"status_code": 406, "message": "Invalid"})
    _route(gw, "api4.test", {"body": "<html><body><h1>down</h1></body></html>"})
    _route(gw, "api5.test", {"status_code": 451, "content_type": "text/html",
                             "body": "<html><body><h1>infringement</h1></body></html>"})
    _route(gw, "api6.test", {"status_code": 503,
                             "body": '{"code": 1, "message": "Service unavailable"}'})
    _route(gw, "api7.test", {}, service=False)
    _route(gw, "api8.test", {"status_code": 204})
    gw.wait_sync()
    for host, status, body in (("api1.test", 503, {"message": "Service unavailable"}),
                               ("api7.test", 503, {"message": "Service unavailable"}),
                               ("api2.test", 404, {"message": "Not found"}),
                               ("api3.test", 406, {"message": "Invalid"}),
                               ("api6.test", 503, {"code": 1,
                                                   "message": "Service unavailable"})):
        resp = _get(gw, host)
        assert (resp.status_code, resp.json()) == (status, body), host
    resp = _get(gw, "api4.test")
    assert (resp.status_code, resp.text) == (503, "<html><body><h1>down</h1></body></html>")
    resp = _get(gw, "api5.test")
    assert resp.status_code == 451 and resp.headers["Content-Type"] == "text/html"
    assert resp.text == "<html><body><h1>infringement</h1></body></html>"
    resp = _get(gw, "api8.test", "/status/204")
    assert resp.status_code == 204 and "Content-Length" not in resp.headers


def test_echo_and_trigger(gateway, svc):
    gw = gateway
    _route(gw, "api9.test", {"echo": True, "status_code": 404})
    _route(gw, "api10.test", {"echo": True, "trigger": "gimme-an-echo", "status_code": 404})
    gw.wait_sync()
    expected = {"host": "api9.test", "method": "GET", "path": "/status/200",
                "port": gw.ports["proxy"], "query": {"hello": "there"},
                "raw_body": "cool body", "scheme": "http"}
    resp = _get(gw, "api9.test", "/status/200?hello=there", data="cool body")
    assert resp.status_code == 404
    body = resp.json()
    assert body["message"] == "Not found"
    assert body["matched_route"]["hosts"] == ["api9.test"]
    request = body["request"]
    # a body without a Content-Type has no parsed form
    assert "body" not in request
    assert {k: request[k] for k in expected} == expected
    assert request["headers"]["content-length"] == "9"
    assert request["headers"]["host"] == "api9.test"
    # the trigger absent: proxied
    resp = _get(gw, "api10.test")
    assert resp.status_code == 200 and resp.json()["path"] == "/status/200"
    for kwargs in ({"headers": {"Gimme-An-Echo": "anything will do"}},
                   {"params": {"gimme-an-echo": "anything will do"}}):
        resp = _get(gw, "api10.test", "/status/200?hello=there", data="cool body", **kwargs)
        assert resp.status_code == 404
        request = resp.json()["request"]
        assert request["raw_body"] == "cool body" and request["host"] == "api10.test"
        assert request["query"]["hello"] == "there"
