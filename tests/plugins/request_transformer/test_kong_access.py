"""request-transformer against the scenarios of Kong's access spec: one route
per Kong host (test1.test ... test29.test) with the same configuration, and
what the upstream receives for each request of the spec."""
from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import parse_qs

import pytest

from tests.helpers.http import proxy
from tests.plugins.request_transformer.test_access import _multipart, sent_with_repeated

NAME = "request-transformer"
USERS = r"~/requests/user1/(?P<user1>\w+)/user2/(?P<user2>\S+)"
USERS_NAMED = r"~/requests/user1/(?<user1>\w+)/user2/(?<user2>\S+)"

# host -> (route attributes, plugin config)
ROUTES = {
    "test1": ({}, {"add": {"headers": ["h1:v1", "h2:value:2"], "querystring": ["q1:v1"],
                           "body": ["p1:v1"]}}),
    "test2": ({"preserve_host": True}, {"add": {"headers": ["host:mark"]}}),
    "test3": ({}, {
        "add": {"headers": ["x-added:a1", "x-added2:b1", "x-added3:c2"],
                "querystring": ["query-added:newvalue", "p1:anything:1"],
                "body": ["newformparam:newvalue"]},
        "remove": {"headers": ["x-to-remove"], "querystring": ["toremovequery"]},
        "append": {"headers": ["x-added:a2", "x-added:a3"], "querystring": ["p1:a2", "p2:b1"]},
        "replace": {"headers": ["x-to-replace:false"], "querystring": ["toreplacequery:no"]}}),
    "test4": ({}, {"remove": {"headers": ["x-to-remove"], "querystring": ["q1"],
                              "body": ["toremoveform"]}}),
    "test5": ({}, {"replace": {"headers": ["h1:v1"], "querystring": ["q1:v1"],
                               "body": ["p1:v1"]}}),
    "test6": ({}, {"append": {"headers": ["h1:v1", "h1:v2", "h2:v1"],
                              "querystring": ["q1:v1", "q1:v2", "q2:v1"],
                              "body": ["p1:v1", "p1:v2", "p2:value:1"]}}),
    "test7": ({}, {"http_method": "POST"}),
    "test8": ({}, {"http_method": "GET"}),
    "test9": ({}, {"rename": {"headers": ["x-to-rename:x-is-renamed"],
                              "querystring": ["originalparam:renamedparam"],
                              "body": ["originalparam:renamedparam"]}}),
    "test10": ({"paths": [USERS], "strip_path": False}, {"add": {"querystring": [
        "uri_param1:$(uri_captures.user1)",
        "uri_param2[some_index][1]:$(uri_captures.user2)"]}}),
    "test11": ({"paths": [USERS]}, {"replace": {
        "uri": "/requests/user2/$(uri_captures.user2)/user1/$(uri_captures.user1)"}}),
    "test12": ({"paths": ["/requests/"], "strip_path": False}, {"add": {"querystring": [
        "uri_param1:$(uri_captures.user1 or 'default1')",
        "uri_param2:$(uri_captures.user2 or 'default2')"]}}),
    "test13": ({"paths": [USERS]},
               {"replace": {"uri": "/requests/user2/$(10 * uri_captures.user1)"}}),
    "test14": ({"paths": [r"~/user1/(?P<user1>\w+)/user2/(?P<user2>\S+)"]},
               {"replace": {"uri": "/requests$(uri_captures[0])"}}),
    "test15": ({"paths": [USERS_NAMED], "strip_path": False}, {
        "add": {"querystring": ["uri_param1:$(uri_captures.user1)",
                                "uri_param2:$(headers.host)"],
                "headers": ["x-test-header:$(query_params.q1)"]},
        "remove": {"querystring": ["q1"]}}),
    "test16": ({"paths": [USERS_NAMED], "strip_path": False}, {
        "replace": {"querystring": ["q2:$(headers['x-remove-header'])"]},
        "add": {"querystring": ["q1:$(uri_captures.user1)"],
                "headers": ["x-test-header:$(headers['x-remove-header'])"]},
        "remove": {"headers": ["x-remove-header"]}}),
    "test17": ({"paths": [USERS_NAMED], "strip_path": False}, {
        "replace": {"querystring": ["q2:$(headers['x-replace-header'])"],
                    "headers": ["x-replace-header:the new value"]},
        "add": {"querystring": ["q1:$(uri_captures.user1)"],
                "headers": ["x-test-header:$(headers['x-replace-header'])"]}}),
    "test18": ({"paths": [USERS_NAMED], "strip_path": False},
               {"add": {"querystring": ["q1:$('$(uri_captures.user1)')"]}}),
    "test19": ({"paths": [USERS_NAMED], "strip_path": False},
               {"add": {"querystring": ["q1:$(ERROR())"]}}),
    "test20": ({}, {"http_method": "POST", "add": {"headers": ["Content-Type:application/json"],
                                                   "body": ["body:somecontent"]}}),
    "test22": ({}, {"http_method": "POST", "remove": {"headers": ["Authorization"]},
                    "add": {"headers": ["Authorization:Basic test"]}}),
    "test23": ({"paths": ["/request"]}, {}),
    "test24": ({}, {"add": {"headers": [
        'x-user-agent:$(foo(headers["User-Agent"]) == "table" and headers["User-Agent"][1]'
        ' or headers["User-Agent"])']}}),
    "test25": ({}, {"add": {"headers": [
        'X-Foo-Transformed:$(type(headers["X-Foo"]) == "table" and headers["X-Foo"][1]'
        ' .. "-first" or headers["X-Foo"])']}}),
    "test26": ({}, {
        "add": {"headers": ["X-aDDed:a1", "x-aDDed2:b1", "x-Added3:c2"]},
        "remove": {"headers": ["X-To-Remove"]},
        "append": {"headers": ["X-aDDed:a2", "X-aDDed:a3"]},
        "replace": {"headers": ["x-to-Replace:false"]}}),
    "test28": ({}, {"add": {"headers": ["X-Write-Attempt:$(shared.written = true)"]}}),
    "test29": ({"paths": ["~/(gw/)?api/(?<subpath>htest)$"], "strip_path": False},
               {"replace": {"uri": '/api/v2/$(uri_captures["subpath"])'}}),
}

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def rt(gateway, svc):
    for host, (attrs, config) in ROUTES.items():
        route = gateway.create("/services/svc/routes", {"hosts": [f"{host}.test"], **attrs})
        gateway.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": config})
    route = gateway.create("/services/svc/routes", {"hosts": ["test21.test"]})
    gateway.create(f"/routes/{route['id']}/plugins", {"name": "pre-function", "config": {
        "access": ['kong.ctx.shared.my_version = "1.2.3"']}})
    gateway.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": {
        "add": {"querystring": ["shared_param1:$(shared.my_version)"]}}})
    gateway.wait_sync()
    return gateway


def send(gw, method, host, path="/request", status=200, headers=None, **kwargs):
    headers = {"Host": f"{host}.test", **(headers or {})}
    resp = proxy(gw).request(method, path, headers=headers, **kwargs)
    assert resp.status_code == status, resp.text
    return resp.json() if status == 200 else resp


def form(sent) -> dict:
    params = parse_qs(sent["body"], keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in params.items()}


def query(sent) -> dict:
    return {k: v[0] if len(v) == 1 else v for k, v in sent["query"].items()}


def multipart_body(fields: dict) -> tuple[bytes, dict]:
    boundary = "xXxBoundaryxXx"
    out = b""
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def multi(gw, host, fields):
    data, headers = multipart_body(fields)
    sent = send(gw, "POST", host, data=data, headers=headers)
    return {name: value.decode() for name, (_, value) in _multipart(sent).items()}


def test_http_method(rt):
    sent = send(rt, "GET", "test7", "/request?hello=world&name=marco")
    assert sent["method"] == "POST" and query(sent) == {"hello": "world", "name": "marco"}
    sent = send(rt, "POST", "test8", "/request?hello=world", data={"name": "marco"})
    assert sent["method"] == "GET" and query(sent) == {"hello": "world", "name": "marco"}
    # the Content-Type added by the same plugin makes the added body JSON
    sent = send(rt, "GET", "test20")
    assert sent["method"] == "POST"
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"body": "somecontent"}


def test_remove(rt):
    sent = send(rt, "GET", "test4", headers={"x-to-remove": "true", "x-another-header": "true"})
    assert "x-to-remove" not in sent["headers"] and sent["headers"]["x-another-header"] == "true"
    sent = send(rt, "POST", "test4", data={"toremoveform": "yes", "nottoremove": "yes"})
    assert form(sent) == {"nottoremove": "yes"}
    sent = send(rt, "POST", "test4", json={"toremoveform": "yes", "nottoremove": "yes"})
    assert json.loads(sent["body"]) == {"nottoremove": "yes"}
    sent = send(rt, "POST", "test4", data="malformed json body",
                headers={"Content-Type": "application/json"})
    assert sent["body"] == "malformed json body"
    sent = send(rt, "POST", "test4", data="{}", headers={"Content-Type": "application/json"})
    assert sent["body"] == "{}" and sent["headers"]["content-length"] == "2"
    sent = send(rt, "POST", "test4", data="")
    assert sent["body"] == "" and sent["headers"]["content-length"] == "0"
    assert multi(rt, "test4", {"toremoveform": "yes", "nottoremove": "yes"}) == {
        "nottoremove": "yes"}
    sent = send(rt, "GET", "test4", "/request?q1=v1&q2=v2", data={"hello": "world"})
    assert query(sent) == {"q2": "v2"}
    sent = send(rt, "POST", "test4", data='{"emptyarray":[]}',
                headers={"Content-Type": "application/json"})
    assert sent["body"] == '{"emptyarray":[]}'


def test_rename(rt):
    sent = send(rt, "GET", "test9", headers={"x-to-rename": "true", "x-another-header": "true"})
    assert "x-to-rename" not in sent["headers"]
    assert sent["headers"]["x-is-renamed"] == "true"
    assert sent["headers"]["x-another-header"] == "true"
    sent = send(rt, "GET", "test9", headers={"x-a-header": "true"})
    assert "x-is-renamed" not in sent["headers"] and sent["headers"]["x-a-header"] == "true"
    for target in ("x-is-renamed", "X-Is-Renamed"):
        sent = send(rt, "GET", "test9", headers={"x-to-rename": "new-result",
                                                 target: "old-result"})
        assert "x-to-rename" not in sent["headers"]
        assert sent["headers"]["x-is-renamed"] == "new-result"
    sent = send(rt, "POST", "test9", data={"originalparam": "yes"})
    assert form(sent) == {"renamedparam": "yes"}
    sent = send(rt, "POST", "test9", data={"x-a-header": "true"})
    assert form(sent) == {"x-a-header": "true"}
    sent = send(rt, "POST", "test9", json={"originalparam": "yes", "nottorename": "yes"})
    assert json.loads(sent["body"]) == {"renamedparam": "yes", "nottorename": "yes"}
    sent = send(rt, "POST", "test9", data="malformed json body",
                headers={"Content-Type": "application/json"})
    assert sent["body"] == "malformed json body"
    assert multi(rt, "test9", {"originalparam": "yes", "nottorename": "yes"}) == {
        "renamedparam": "yes", "nottorename": "yes"}
    sent = send(rt, "GET", "test9", "/request?originalparam=true&nottorename=true",
                headers={"Content-Type": FORM})
    assert query(sent) == {"renamedparam": "true", "nottorename": "true"}
    sent = send(rt, "POST", "test9", data='{"emptyarray":[]}',
                headers={"Content-Type": "application/json"})
    assert sent["body"] == '{"emptyarray":[]}'


def test_replace(rt):
    sent = send(rt, "GET", "test5", headers={"h1": "V", "h2": "v2"})
    assert sent["headers"]["h1"] == "v1" and sent["headers"]["h2"] == "v2"
    sent = send(rt, "GET", "test5", headers={"h2": "v2"})
    assert "h1" not in sent["headers"]
    assert form(send(rt, "POST", "test5", data={"p1": "v", "p2": "v1"})) == {
        "p1": "v1", "p2": "v1"}
    assert form(send(rt, "POST", "test5", data={"p2": "v1"})) == {"p2": "v1"}
    sent = send(rt, "POST", "test5", json={"p1": "v", "p2": "v1"})
    assert json.loads(sent["body"]) == {"p1": "v1", "p2": "v1"}
    sent = send(rt, "POST", "test5", json={"p2": "v1"})
    assert json.loads(sent["body"]) == {"p2": "v1"}
    sent = send(rt, "POST", "test5", data="malformed json body",
                headers={"Content-Type": "application/json"})
    assert sent["body"] == "malformed json body"
    assert multi(rt, "test5", {"p1": "v", "p2": "v1"}) == {"p1": "v1", "p2": "v1"}
    assert multi(rt, "test5", {"p2": "v1"}) == {"p2": "v1"}
    sent = send(rt, "POST", "test5", "/request?q1=v&q2=v2", data={"hello": "world"})
    assert query(sent) == {"q1": "v1", "q2": "v2"}
    sent = send(rt, "POST", "test5", "/request?q2=v2", data={"hello": "world"})
    assert query(sent) == {"q2": "v2"}
    sent = send(rt, "POST", "test5", data='{"emptyarray":[], "p1":"v"}',
                headers={"Content-Type": "application/json"})
    assert '"emptyarray":[]' in sent["body"] and json.loads(sent["body"])["p1"] == "v1"
    for path in ("/api/htest", "/gw/api/htest"):
        assert send(rt, "GET", "test29", path)["path"] == "/api/v2/htest"


def test_add(rt):
    sent = send(rt, "GET", "test1")
    assert sent["headers"]["h1"] == "v1" and sent["headers"]["h2"] == "value:2"
    sent = send(rt, "GET", "test1", headers={"h1": "v3"})
    assert sent["headers"]["h1"] == "v3" and sent["headers"]["h2"] == "value:2"
    assert form(send(rt, "POST", "test1", data={"hello": "world"})) == {
        "hello": "world", "p1": "v1"}
    assert form(send(rt, "POST", "test1", data={"p1": "should not change", "hello": "world"})) \
        == {"p1": "should not change", "hello": "world"}
    sent = send(rt, "POST", "test1", json={"hello": "world"})
    assert json.loads(sent["body"]) == {"hello": "world", "p1": "v1"}
    sent = send(rt, "POST", "test1", json={"p1": "this should not change", "hello": "world"})
    assert json.loads(sent["body"]) == {"p1": "this should not change", "hello": "world"}
    sent = send(rt, "POST", "test1", data="malformed json body",
                headers={"Content-Type": "application/json"})
    assert sent["body"] == "malformed json body"
    assert multi(rt, "test1", {}) == {"p1": "v1"}
    assert multi(rt, "test1", {"p1": "this should not change", "hello": "world"}) == {
        "p1": "this should not change", "hello": "world"}
    sent = send(rt, "GET", "test1", "/request?q2=v2", headers={"Content-Type": FORM})
    assert query(sent) == {"q1": "v1", "q2": "v2"}
    sent = send(rt, "GET", "test1", "/request?q1=v2", headers={"Content-Type": FORM})
    assert query(sent) == {"q1": "v2"}
    sent = send(rt, "GET", "test2", "/get", headers={"Content-Type": "application/json"})
    assert sent["headers"]["host"] == "test2.test"
    sent = send(rt, "POST", "test1", data='{"emptyarray":[]}',
                headers={"Content-Type": "application/json"})
    assert '"emptyarray":[]' in sent["body"]


def test_append(rt):
    sent = send(rt, "GET", "test6")
    assert sent["headers"]["h2"] == "v1" and sent["headers"]["h1"] == ["v1", "v2"]
    sent = send(rt, "POST", "test6", data={"hello": "world"})
    assert query(sent) == {"q1": ["v1", "v2"], "q2": "v1"}
    sent = send(rt, "POST", "test6", headers={"Content-Type": FORM})
    assert query(sent)["q1"] == ["v1", "v2"]
    assert form(sent) == {"p1": ["v1", "v2"], "p2": "value:1"}
    sent = send(rt, "POST", "test6", data={"p1": "v0"})
    assert form(sent) == {"p1": ["v0", "v1", "v2"], "p2": "value:1"}
    sent = send(rt, "POST", "test6", data="malformed json body",
                headers={"Content-Type": "application/json"})
    assert sent["body"] == "malformed json body"
    assert multi(rt, "test6", {"p1": "This should not change"}) == {
        "p1": "This should not change"}
    sent = send(rt, "POST", "test6", data='{"emptyarray":[]}',
                headers={"Content-Type": "application/json"})
    assert '"emptyarray":[]' in sent["body"]


def test_append_a_value_with_a_hash(rt):
    route = rt.create("/services/svc/routes", {"hosts": ["test_append_hash.test"]})
    rt.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": {"append": {
        "headers": ["h1:v1", "h1:v2", "h1:#value_with_hash", "h2:v1"],
        "querystring": ["q1:v1", "q1:v2", "q2:v1"],
        "body": ["p1:v1", "p1:v2", "p2:value:1"]}}})
    rt.wait_sync()
    sent = send(rt, "GET", "test_append_hash")
    assert sent["headers"]["h1"] == ["v1", "v2", "#value_with_hash"]


def test_remove_replace_add_append(rt):
    for host in ("test3", "test26"):
        sent = send(rt, "GET", host, headers={"x-to-remove": "true", "x-to-replace": "true"})
        assert "x-to-remove" not in sent["headers"]
        assert sent["headers"]["x-to-replace"] == "false"
        assert sent["headers"]["x-added2"] == "b1"
        assert sent["headers"]["x-added"] == ["a1", "a2", "a3"]
        sent = send(rt, "GET", host, headers={"x-added3": "c1"})
        assert "x-to-replace" not in sent["headers"] and sent["headers"]["x-added3"] == "c1"
    sent = send(rt, "GET", "test26", headers={"X-addeD": "a0"})
    assert sent["headers"]["x-added"] == ["a0", "a2", "a3"]
    sent = send(rt, "POST", "test3", data={"hello": "world"})
    assert query(sent)["p2"] == "b1"
    assert form(sent) == {"hello": "world", "newformparam": "newvalue"}
    sent = send(rt, "GET", "test3", "/request?toremovequery=yes&nottoremove=yes",
                data={"hello": "world"})
    assert "toremovequery" not in query(sent) and query(sent)["nottoremove"] == "yes"
    sent = send(rt, "GET", "test3", "/request?toreplacequery=yes", data={"hello": "world"})
    assert query(sent)["toreplacequery"] == "no"
    sent = send(rt, "GET", "test3", headers={"Content-Type": FORM})
    assert "toreplacequery" not in query(sent)
    assert query(sent)["query-added"] == "newvalue"
    sent = send(rt, "GET", "test3", "/request?query-added=oldvalue",
                headers={"Content-Type": FORM})
    assert query(sent)["query-added"] == "oldvalue"
    sent = send(rt, "GET", "test3", "/request?q1=20", data={"hello": "world"})
    assert query(sent)["p1"] == ["anything:1", "a2"] and query(sent)["q1"] == "20"
    sent = send(rt, "POST", "test3", data='{"emptyarray":[]}',
                headers={"Content-Type": "application/json"})
    assert '"emptyarray":[]' in sent["body"]


def _log_count(gw, text: str) -> int:
    return (gw.prefix / "logs" / "error.log").read_text(errors="replace").count(text)


def test_templates(rt):
    sent = send(rt, "GET", "test10", "/requests/user1/foo/user2/bar?q1=20",
                data={"hello": "world"})
    assert sent["path"] == "/requests/user1/foo/user2/bar"
    assert sent["raw_query"] == "q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar"
    assert send(rt, "GET", "test11", "/requests/user1/foo/user2/bar")["path"] == \
        "/requests/user2/bar/user1/foo"
    sent = send(rt, "GET", "test12", "/requests/?q1=20")
    assert query(sent) == {"q1": "20", "uri_param1": "default1", "uri_param2": "default2"}
    send(rt, "GET", "test13", "/requests/user1/foo/user2/bar", status=500)
    assert send(rt, "GET", "test14", "/user1/foo/user2/bar")["path"] == \
        "/requests/user1/foo/user2/bar"
    sent = send(rt, "GET", "test15", "/requests/user1/foo/user2/bar?q1=20",
                headers={"Content-Type": FORM})
    assert query(sent) == {"uri_param1": "foo", "uri_param2": "test15.test"}
    assert sent["headers"]["x-test-header"] == "20"
    sent = send(rt, "GET", "test16", "/requests/user1/foo/user2/bar?q2=20",
                headers={"x-remove-header": "its a test", "Content-Type": FORM})
    assert "x-remove-header" not in sent["headers"]
    assert query(sent) == {"q1": "foo", "q2": "its a test"}
    assert sent["headers"]["x-test-header"] == "its a test"
    sent = send(rt, "GET", "test17", "/requests/user1/foo/user2/bar?q2=20",
                headers={"x-replace-header": "the old value", "Content-Type": FORM})
    assert query(sent) == {"q1": "foo", "q2": "the old value"}
    assert sent["headers"]["x-test-header"] == "the old value"
    assert sent["headers"]["x-replace-header"] == "the new value"
    sent = send(rt, "GET", "test18", "/requests/user1/foo/user2/bar?q2=20")
    assert query(sent) == {"q1": "$(uri_captures.user1)", "q2": "20"}
    send(rt, "GET", "test19", "/requests/user1/foo/user2/bar?q2=20", status=500)
    pattern = 'error:[string "TMP"]:1: attempt to call global \'foo\' (a nil value)'
    before = _log_count(rt, pattern)
    send(rt, "GET", "test24", "/", status=500)
    assert _log_count(rt, pattern) == before + 1
    sent = sent_with_repeated(rt, "/request", [("Host", "test25.test"), ("X-Foo", "1"),
                                               ("X-Foo", "2")])
    assert sent["headers"]["x-foo-transformed"] == "1-first"
    assert query(send(rt, "GET", "test21", "/")) == {"shared_param1": "1.2.3"}
    send(rt, "GET", "test28", "/", status=500)


def test_remove_then_add_header(rt):
    for headers in ({"Authorization": "Basic dGVzdDp0ZXN0"}, {}):
        headers = {**headers, "Content-Type": "application/json"}
        sent = send(rt, "GET", "test22", "/", headers=headers)
        assert sent["headers"]["authorization"] == "Basic test"


def test_query_not_urlencoded_again(rt):
    sent = send(rt, "GET", "test23", "/request?expected=$&+,/:;?@")
    assert sent["raw_query"] == "expected=$&+,/:;?@"


def test_sandbox(rt):
    for host, value in (("sandbox1", "$(type(query_params.user))"),
                        ("sandbox2", "$(string.sub(query_params.user, 1, 3))"),
                        ("sandbox3", "$(require('inspect')('somestring'))")):
        route = rt.create("/services/svc/routes", {"hosts": [f"{host}.test"]})
        rt.create(f"/routes/{route['id']}/plugins", {"name": NAME, "config": {
            "add": {"headers": [f"x-added:{value}"]}}})
    rt.wait_sync()
    sent = send(rt, "GET", "sandbox1", "/?user=foo", headers={"Content-Type": FORM})
    assert sent["headers"]["x-added"] == "string"
    for host, text in (("sandbox2", "attempt to index global 'string' (a nil value)"),
                       ("sandbox3", "require 'inspect' not allowed within sandbox")):
        before = _log_count(rt, text)
        send(rt, "GET", host, "/?user=foo", status=500)
        assert _log_count(rt, text) == before + 1


def _one_template_node(start_node, upstream, value: str, **settings):
    gw = start_node(workers=1, **settings)
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/tpl", {"name": NAME, "config": {"add": {"headers": [f"x-added:{value}"]}}})
    gw.wait_sync()
    return gw


def test_sandbox_environment(start_node, upstream):
    gw = _one_template_node(
        start_node, upstream,
        "$(string.format('u1:%s;u2:%s', query_params.user1,query_params.user2))",
        untrusted_lua_sandbox_environment="string")
    sent = proxy(gw).get("/tpl?user1=foo&user2=bar")
    assert sent.status_code == 200 and sent.json()["headers"]["x-added"] == "u1:foo;u2:bar"


def test_concurrent_requests_keep_their_own_values(start_node, upstream):
    """Kong's thread-safety scenario on one worker: a request whose body
    comes slowly (its access waits for it) and another in between each
    get their own header, body and query, plus the additions."""
    gw = start_node(workers=1)
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/safe", {"name": NAME, "config": {"add": {
        "querystring": ["added_q:yes_q"], "headers": ["added_h:yes_h"],
        "body": ["added_b:yes_b"]}}})
    gw.wait_sync()
    results = {}

    def send_raw(tag: str, delay: float) -> None:
        body = json.dumps({"k": f"b{tag}"}).encode()
        head = (f"POST /safe?q=vq{tag} HTTP/1.1\r\nHost: x\r\nh: vh{tag}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", gw.ports["proxy"]), timeout=10) as sock:
            sock.sendall(head + body[:3])
            time.sleep(delay)
            sock.sendall(body[3:])
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        results[tag] = json.loads(data.partition(b"\r\n\r\n")[2])

    slow = threading.Thread(target=send_raw, args=("1", 1.5))
    slow.start()
    time.sleep(0.3)
    send_raw("2", 0)
    slow.join()
    for tag in ("1", "2"):
        sent = results[tag]
        assert sent["headers"]["h"] == f"vh{tag}" and sent["headers"]["added_h"] == "yes_h"
        assert json.loads(sent["body"]) == {"k": f"b{tag}", "added_b": "yes_b"}
        assert query(sent) == {"q": f"vq{tag}", "added_q": "yes_q"}


@pytest.mark.parametrize("settings, value, query_string, added", [
    ({"untrusted_lua": "on"}, "$(require('inspect')(string.sub(query_params.user, 1, 3)))",
     "user=foo123", '"foo"'),
    ({"untrusted_lua_sandbox_requires": "inspect"},
     "$(require('inspect')({query_params.user1,query_params.user2}))",
     "user1=foo&user2=bar", '{ "foo", "bar" }'),
])
def test_inspect_required(start_node, upstream, settings, value, query_string, added):
    gw = _one_template_node(start_node, upstream, value, **settings)
    assert proxy(gw).get(f"/tpl?{query_string}").json()["headers"]["x-added"] == added
