"""response-transformer against the scenarios of Kong's filter spec and the
content types and header values of its header transformer spec."""
from __future__ import annotations

import json

from tests.helpers.http import proxy

NAME = "response-transformer"
DOC = {"url": "http://x/get", "headers": {"a": "b"}, "uri_args": {}, "ip": "1.2.3.4"}


def _route(gw, host: str, *plugins: dict) -> None:
    route = gw.create("/services/svc/routes", {"hosts": [host]})
    for plugin in plugins:
        gw.create(f"/routes/{route['id']}/plugins", plugin)


def test_filter(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/get", json.dumps(DOC))
    upstream.serve("/response-headers", json.dumps(DOC),
                   headers=[("Access-Control-Allow-Origin", "*")])
    _route(gw, "response.test", {"name": NAME, "config": {"remove": {
        "headers": ["Access-Control-Allow-Origin"], "json": ["url"]}}})
    _route(gw, "response2.test", {"name": NAME, "config": {"replace": {
        "json": ["headers:/hello/world", "uri_args:this is a / test", 'url:"wot"']}}})
    _route(gw, "response3.test", {"name": NAME, "config": {"remove": {"json": ["ip"]}}},
           {"name": "basic-auth"})
    gw.wait_sync()
    resp = proxy(gw).get("/get", headers={"Host": "response.test"})
    assert resp.status_code == 200 and "url" not in resp.json()
    resp = proxy(gw).get("/response-headers", headers={"Host": "response.test"})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers
    body = proxy(gw).get("/get", headers={"Host": "response2.test"}).json()
    assert body["headers"] == "/hello/world" and body["url"] == '"wot"'
    assert body["uri_args"] == "this is a / test"
    # a request short-circuited in access (basic-auth) goes out unharmed
    resp = proxy(gw).get("/get", headers={"Host": "response3.test"})
    assert resp.status_code == 401
    assert resp.json()["message"] == "Unauthorized"


def test_json_media_types(gateway, svc, upstream):
    gw = gateway
    for path, ctype in (("/problem", "application/problem+json; charset=utf-8"),
                        ("/several", "application/x-www-form-urlencoded, application/json"),
                        ("/upper", "Application/JSON"),
                        ("/jsonp", "application/jsonp"),
                        ("/form", "application/x-www-form-urlencoded; charset=utf-8")):
        upstream.serve(path, json.dumps({"p": 1}), content_type=ctype)
    _route(gw, "types.test", {"name": NAME, "config": {"add": {"json": ["added:yes"]}}})
    gw.wait_sync()
    for path in ("/problem", "/several"):
        resp = proxy(gw).get(path, headers={"Host": "types.test"})
        assert resp.json() == {"p": 1, "added": "yes"}, path
        assert "content-length" not in resp.headers
    # Kong parses the media type as written: these are not JSON to it
    for path in ("/upper", "/jsonp", "/form"):
        resp = proxy(gw).get(path, headers={"Host": "types.test"})
        assert resp.json() == {"p": 1}, path
        assert resp.headers["content-length"] == str(len(json.dumps({"p": 1})))


def test_renamed_empty_header(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/empty", "{}", headers=[("H1", ""), ("H3", "v3")])
    _route(gw, "rename.test", {"name": NAME, "config": {"rename": {
        "headers": ["h1:h2", "h3:h4"]}}})
    gw.wait_sync()
    resp = proxy(gw).get("/empty", headers={"Host": "rename.test"})
    assert "h1" not in resp.headers and "h3" not in resp.headers
    assert resp.headers["h4"] == "v3"
    # Kong's PDK sends an empty value as one space (nginx would drop it)
    assert "h2" in resp.headers


def test_json_values_as_kong_transforms_them(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/jv", '{"p1" : "v1", "p2" : "v1", "p3": "v1", "a": []}')
    upstream.serve("/jv-gone", '{"p1" : "v1", "p2" : "v1"}')
    _route(gw, "jv.test", {"name": NAME, "config": {
        "replace": {"json": ["p1:v2", 'p2:"v2"', "p3:-1"],
                    "json_types": ["string", "string", "number"]},
        "add": {"json": ["n1:v1", "n3:value:3", 'n4:"v1"', "n5:-1"],
                "json_types": ["string", "string", "string", "number"]},
        "append": {"json": ["p1:v3", "m4:-1"], "json_types": ["string", "number"]}}})
    _route(gw, "jv-gone.test", {"name": NAME, "config": {"remove": {"json": ["p1", "p2"]}}})
    gw.wait_sync()
    resp = proxy(gw).get("/jv", headers={"Host": "jv.test"})
    assert resp.json() == {"p1": ["v2", "v3"], "p2": '"v2"', "p3": -1, "a": [],
                           "n1": "v1", "n3": "value:3", "n4": '"v1"', "n5": -1, "m4": [-1]}
    assert '"a":[]' in resp.text
    resp = proxy(gw).get("/jv-gone", headers={"Host": "jv-gone.test"})
    assert resp.text == "{}"


def test_a_large_post(gateway, svc):
    gw = gateway
    route = gw.create("/services/svc/routes", {"hosts": ["big.test"], "methods": ["POST"]})
    gw.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": {
        "add": {"json": ["p1:v1"]}, "remove": {"json": ["params"]}}})
    gw.wait_sync()
    big = {"mock_json": {"big_field": "*" * (1024 * 1024)}}
    resp = proxy(gw).post("/post", json=big, headers={"Host": "big.test"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["p1"] == "v1" and "params" not in body
    assert json.loads(body["body"]) == big
