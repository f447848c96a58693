"""request-transformer through a real node: each transformation of Kong's
table on headers, querystring and bodies (form, multipart, JSON), the
method, the uri, and templates."""
from __future__ import annotations

import http.client
import json
from email.parser import BytesParser
from email.policy import HTTP

from tests.helpers.http import proxy

NAME = "request-transformer"


def _plugin(config: dict) -> dict:
    return {"name": NAME, "config": config}


def _sent(resp) -> dict:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_headers(gateway, svc):
    gw = gateway
    gw.route("/rt-headers", _plugin({
        "remove": {"headers": ["x-remove", "x-absent"]},
        "rename": {"headers": ["x-old:x-new", "x-none:x-other"]},
        "replace": {"headers": ["x-replace:new", "x-missing:never"]},
        "add": {"headers": ["x-add:added", "x-keep:not-this", "x-empty:"]},
        "append": {"headers": ["x-append:two", "x-fresh:one"]}}))
    gw.wait_sync()
    sent = _sent(proxy(gw).get("/rt-headers", headers={
        "X-Remove": "1", "X-Old": "moved", "X-Replace": "old", "X-Keep": "mine",
        "X-Append": "one"}))
    headers = sent["headers"]
    assert "x-remove" not in headers and "x-old" not in headers
    assert headers["x-new"] == "moved" and "x-other" not in headers
    assert headers["x-replace"] == "new" and "x-missing" not in headers
    assert headers["x-add"] == "added" and headers["x-keep"] == "mine"
    assert "x-empty" not in headers
    assert headers["x-append"] == ["one", "two"] and headers["x-fresh"] == "one"


def test_adding_headers_only(gateway, svc, upstream):
    gw = gateway
    gw.route("/rt-add", _plugin({"add": {"headers": ["x-a:1", "X-B:2", "host:ignored",
                                                     "x-a:second"]}}))
    gw.wait_sync()
    headers = _sent(proxy(gw).get("/rt-add", headers={"x-b": "client"}))["headers"]
    assert headers["x-a"] == "1" and headers["x-b"] == "client"
    assert headers["host"] == f"127.0.0.1:{upstream.port}"


def test_querystring(gateway, svc):
    gw = gateway
    gw.route("/rt-query", _plugin({
        "remove": {"querystring": ["gone"]},
        "rename": {"querystring": ["old:new"]},
        "replace": {"querystring": ["rep:new", "missing:never"]},
        "add": {"querystring": ["add:yes", "keep:no"]},
        "append": {"querystring": ["multi:2", "single:x"]}}))
    gw.wait_sync()
    sent = _sent(proxy(gw).get("/rt-query?gone=1&old=v&rep=old&keep=mine&multi=1"))
    assert sent["query"] == {"new": ["v"], "rep": ["new"], "add": ["yes"], "keep": ["mine"],
                             "multi": ["1", "2"], "single": ["x"]}
    # Kong's querystring encoding: sorted names
    assert sent["raw_query"] == "add=yes&keep=mine&multi=1&multi=2&new=v&rep=new&single=x"


BODY_CONFIG = {
    "remove": {"body": ["gone"]},
    "rename": {"body": ["old:new"]},
    "replace": {"body": ["rep:new", "missing:never"]},
    "add": {"body": ["add:yes", "keep:no"]},
    "append": {"body": ["multi:2"]}}


def test_form_body(gateway, svc):
    gw = gateway
    gw.route("/rt-form", _plugin(BODY_CONFIG))
    gw.wait_sync()
    sent = _sent(proxy(gw).post("/rt-form", data={
        "gone": "1", "old": "v", "rep": "old", "keep": "mine", "multi": "1"}))
    from urllib.parse import parse_qs
    assert parse_qs(sent["body"]) == {"new": ["v"], "rep": ["new"], "add": ["yes"],
                                      "keep": ["mine"], "multi": ["1", "2"]}
    assert int(sent["headers"]["content-length"]) == len(sent["body"])
    # additions need no body; removals need one
    sent = _sent(proxy(gw).post("/rt-form", headers={
        "Content-Type": "application/x-www-form-urlencoded"}))
    assert parse_qs(sent["body"]) == {"add": ["yes"], "keep": ["no"], "multi": ["2"]}


def test_json_body(gateway, svc):
    gw = gateway
    gw.route("/rt-json", _plugin(BODY_CONFIG))
    gw.wait_sync()
    sent = _sent(proxy(gw).post("/rt-json", json={
        "gone": 1, "old": {"deep": [1, 2]}, "rep": "old", "keep": "mine", "multi": "1",
        "list": [], "obj": {}, "nested": {"empty": []}}))
    body = json.loads(sent["body"])
    assert body == {"new": {"deep": [1, 2]}, "rep": "new", "add": "yes", "keep": "mine",
                    "multi": ["1", "2"], "list": [], "obj": {}, "nested": {"empty": []}}
    assert int(sent["headers"]["content-length"]) == len(sent["body"])
    sent = _sent(proxy(gw).post("/rt-json", headers={"Content-Type": "application/json"}))
    assert json.loads(sent["body"]) == {"add": "yes", "keep": "no", "multi": ["2"]}
    # names do not reach the elements of a top-level array
    sent = _sent(proxy(gw).post("/rt-json", data="[1, 2]",
                                headers={"Content-Type": "application/json"}))
    assert sent["body"] == "[1,2]"
    # a body that is not JSON is sent as it came
    sent = _sent(proxy(gw).post("/rt-json", data="{not json",
                                headers={"Content-Type": "application/json"}))
    assert sent["body"] == "{not json"
    # other content types are not touched
    sent = _sent(proxy(gw).post("/rt-json", data="gone=1", headers={"Content-Type": "text/plain"}))
    assert sent["body"] == "gone=1"


def _multipart(sent) -> dict:
    raw = (f"Content-Type: {sent['headers']['content-type']}\r\n\r\n").encode() \
        + sent["body"].encode("latin-1")
    msg = BytesParser(policy=HTTP).parsebytes(raw)
    parts = {}
    for part in msg.iter_parts():
        parts[part.get_param("name", header="content-disposition")] = (
            part.get_filename(), part.get_payload(decode=True))
    return parts


def test_multipart_body(gateway, svc):
    gw = gateway
    gw.route("/rt-multi", _plugin(BODY_CONFIG))
    gw.wait_sync()
    binary = bytes(range(256)) * 4
    resp = proxy(gw).post("/rt-multi", data={"gone": "1", "old": "v", "rep": "old",
                                             "keep": "mine"},
                          files={"file": ("a.bin", binary, "application/octet-stream")})
    sent = _sent(resp)
    parts = _multipart(sent)
    assert parts == {"new": (None, b"v"), "rep": (None, b"new"), "keep": (None, b"mine"),
                     "file": ("a.bin", binary), "add": (None, b"yes")}
    assert int(sent["headers"]["content-length"]) == len(sent["body"].encode("latin-1"))


def test_http_method(gateway, svc):
    gw = gateway
    gw.route("/rt-method", _plugin({"http_method": "GET"}))
    gw.route("/rt-method-put", _plugin({"http_method": "PUT"}))
    gw.wait_sync()
    sent = _sent(proxy(gw).post("/rt-method?a=1", data={"a": "2", "b": "3"}))
    assert sent["method"] == "GET"
    assert sent["query"] == {"a": ["1", "2"], "b": ["3"]}
    sent = _sent(proxy(gw).post("/rt-method-put", json={"x": 1}))
    assert sent["method"] == "PUT" and json.loads(sent["body"]) == {"x": 1}


def test_replace_uri_with_captures(gateway, svc):
    gw = gateway
    route = gw.create("/services/svc/routes", {
        "name": "rt-uri", "paths": [r"~/rt-uri/(?<user>\w+)/(\d+)$"]})
    gw.create(f"/routes/{route['id']}/plugins", _plugin({
        "replace": {"uri": "/users/$(uri_captures.user)/items/$(uri_captures[2])"},
        "add": {"querystring": ["q:$(uri_captures['user'])"]}}))
    gw.route("/rt-uri-static", _plugin({"replace": {"uri": "/fixed"}}))
    gw.wait_sync()
    sent = _sent(proxy(gw).get("/rt-uri/alice/42?x=1"))
    assert sent["path"] == "/users/alice/items/42"
    assert sent["query"] == {"x": ["1"], "q": ["alice"]}
    assert _sent(proxy(gw).get("/rt-uri-static/whatever"))["path"] == "/fixed"


def test_templates(gateway, svc):
    gw = gateway
    gw.route("/rt-tpl", _plugin({
        "add": {"headers": [
            "x-from-header:$(headers.x_in)",
            "x-dashed:$(headers['x-with-dash'])",
            "x-query:pre-$(query_params.q)-post",
            "x-missing:[$(headers.nope)]",
            "x-shared:[$(shared.nothing)]",
            "x-escaped:$('$(headers.x_in)')",
            "x-hash:#1 $(query_params.q)",
            "x-expr:$(query_params.n and query_params.n * 2 or 'none')",
            "x-type:$(type(headers['x-twice']))",
            "x-sandbox:$(os == nil and string == nil and 'closed' or 'open')",
        ]}}))
    gw.wait_sync()
    headers = _sent(proxy(gw).get("/rt-tpl?q=hello&n=21", headers={
        "X-In": "in", "X-With-Dash": "dash", "X-Twice": "a, b"}))["headers"]
    assert headers["x-from-header"] == "in"
    assert headers["x-dashed"] == "dash"
    assert headers["x-query"] == "pre-hello-post"
    assert headers["x-missing"] == "[]"
    assert headers["x-shared"] == "[]"
    assert headers["x-escaped"] == "$(headers.x_in)"
    assert headers["x-hash"] == "#1 hello"
    assert headers["x-expr"] == "42"
    assert headers["x-type"] == "string"
    assert headers["x-sandbox"] == "closed"
    # a repeated header is a table of values
    sent = sent_with_repeated(gw, "/rt-tpl?q=x", [("X-Twice", "a"), ("X-Twice", "b")])
    assert sent["headers"]["x-type"] == "table"


def sent_with_repeated(gw, path: str, headers: list[tuple[str, str]]) -> dict:
    """What the upstream received for a GET with ``headers`` sent as listed
    (a name may repeat; a Host among them replaces the default one)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.ports["proxy"], timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=any(n.lower() == "host" for n, _ in headers))
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 200
        return json.loads(resp.read())
    finally:
        conn.close()


def test_a_template_failing_at_request_time(gateway, svc):
    gw = gateway
    gw.route("/rt-tpl-error", _plugin({"add": {"headers": ["x-boom:$(headers.nope.deeper)"]}}))
    gw.wait_sync()
    resp = proxy(gw).get("/rt-tpl-error")
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    log = (gw.prefix / "logs" / "error.log").read_text()
    assert "[request-transformer] failed to render the template $(headers.nope.deeper)" in log


def test_untrusted_lua_off(start_node, upstream):
    gw = start_node(workers=1, untrusted_lua="off")
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/off-static", _plugin({"add": {"headers": ["x-a:plain #text"]}}))
    gw.route("/off-tpl", _plugin({"add": {"headers": ["x-a:$(headers.x)"]}}))
    gw.wait_sync()
    assert _sent(proxy(gw).get("/off-static"))["headers"]["x-a"] == "plain #text"
    resp = proxy(gw).get("/off-tpl")
    assert resp.status_code == 500
    log = (gw.prefix / "logs" / "error.log").read_text()
    assert "loading of untrusted Lua code disabled because 'untrusted_lua' config option" in log


def test_untrusted_lua_on(start_node, upstream):
    gw = start_node(workers=1, untrusted_lua="on")
    gw.create("/services", {"name": "svc", "url": upstream.url})
    gw.route("/on-tpl", _plugin({"add": {"headers": [
        "x-globals:$(os.execute and 'open' or 'closed')", "x-h:$(headers.x)"]}}))
    gw.wait_sync()
    headers = _sent(proxy(gw).get("/on-tpl", headers={"X": "1"}))["headers"]
    assert headers["x-globals"] == "open" and headers["x-h"] == "1"
