"""response-transformer through a real node: response headers, the JSON
body's fields with json_types, gzip and chunked upstream bodies, bodies
that are not JSON, and the Content-Length the client gets."""
from __future__ import annotations

import gzip
import json
import socket

from tests.helpers.http import proxy

NAME = "response-transformer"

JSON_CONFIG = {
    "remove": {"json": ["gone"]},
    "rename": {"json": ["old:new"]},
    "replace": {"json": ["rep:new", "missing:never", "num:7"],
                "json_types": ["string", "string", "number"]},
    "add": {"json": ["add:yes", "keep:no", "flag:true", "count:12", "path:/a/b",
                     'quote:say "hi"'],
            "json_types": ["string", "string", "boolean", "number"]},
    "append": {"json": ["multi:2", "fresh:x"]},
}
DOC = {"gone": 1, "old": {"deep": [1, 2]}, "rep": "old", "num": 1, "keep": "mine",
       "multi": "1", "list": [], "nested": {"empty": []}}
EXPECTED = {"new": {"deep": [1, 2]}, "rep": "new", "num": 7, "keep": "mine",
            "multi": ["1", "2"], "list": [], "nested": {"empty": []}, "add": "yes",
            "flag": True, "count": 12, "path": "/a/b", "quote": 'say "hi"', "fresh": ["x"]}


def _plugin(config: dict) -> dict:
    return {"name": NAME, "config": config}


def test_headers(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/hdr", "{}", headers=[
        ("X-Remove", "1"), ("X-Old", "moved"), ("X-Replace", "old"), ("X-Keep", "mine"),
        ("X-Append", "one")])
    gw.route("/rs-headers", _plugin({
        "remove": {"headers": ["x-remove", "x-absent"]},
        "rename": {"headers": ["x-old:x-new", "x-none:x-other"]},
        "replace": {"headers": ["x-replace:new", "x-missing:never"]},
        "add": {"headers": ["x-add:added", "x-keep:not-this"]},
        "append": {"headers": ["x-append:two", "x-fresh:one"]}}))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-headers/hdr")
    assert resp.status_code == 200
    h = resp.headers
    assert "x-remove" not in h and "x-old" not in h and "x-other" not in h
    assert h["x-new"] == "moved"
    assert h["x-replace"] == "new" and "x-missing" not in h
    assert h["x-add"] == "added" and h["x-keep"] == "mine"
    assert h["x-append"] == "one, two" and h["x-fresh"] == "one"
    # no JSON edit configured: the body and its length are the service's
    assert resp.content == b"{}" and h["content-length"] == "2"


def test_adding_headers_only(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/hdr-add", "{}", headers=[("X-B", "service")])
    gw.route("/rs-add", _plugin({"add": {"headers": ["x-a:1", "x-b:2"]}}))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-add/hdr-add")
    assert resp.headers["x-a"] == "1" and resp.headers["x-b"] == "service"


def test_json_body(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/doc", json.dumps(DOC), content_type="application/json; charset=utf-8")
    gw.route("/rs-json", _plugin(JSON_CONFIG))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-json/doc")
    assert resp.status_code == 200
    assert resp.json() == EXPECTED
    assert "content-length" not in resp.headers  # chunked to the client, as in Kong
    assert resp.headers["transfer-encoding"] == "chunked"


def test_a_json_array_body(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/array", "[1, 2]")
    gw.route("/rs-array", _plugin({"append": {"json": ["x:1"]}}))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-array/array")
    # names do not reach an array's elements: sent again as it was (re-encoded)
    assert resp.content == b"[1,2]"


def test_bodies_left_alone(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/text", '{"gone": 1}', content_type="text/plain")
    upstream.serve("/bad", '{"gone": 1', content_type="application/json")
    gw.route("/rs-alone", _plugin(JSON_CONFIG))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-alone/text")
    assert resp.content == b'{"gone": 1}' and resp.headers["content-length"] == "11"
    resp = proxy(gw).get("/rs-alone/bad")
    assert resp.status_code == 200 and resp.content == b'{"gone": 1'
    log = (gw.prefix / "logs" / "error.log").read_text()
    assert "body transform failed: failed parsing json body" in log


def test_gzip_body(gateway, svc, upstream):
    gw = gateway
    upstream.serve("/gz", json.dumps(DOC), gzip=True)
    upstream.serve("/gz-broken", b"\x1f\x8bnot gzip", content_type="application/json")
    gw.route("/rs-gzip", _plugin(JSON_CONFIG))
    gw.wait_sync()
    resp = proxy(gw).get("/rs-gzip/gz", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = resp.raw.read(decode_content=False)
    assert resp.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw)) == EXPECTED


def test_chunked_and_large_bodies(gateway, svc, upstream):
    gw = gateway
    big = dict(DOC, blob=["x" * 1000] * 2000)  # about 2 MB
    upstream.serve("/chunked", json.dumps(DOC), chunked=True)
    upstream.serve("/big", json.dumps(big), chunked=True)
    upstream.serve("/big-gz", json.dumps(big), gzip=True, chunked=True)
    gw.route("/rs-chunked", _plugin(JSON_CONFIG))
    gw.wait_sync()
    assert proxy(gw).get("/rs-chunked/chunked").json() == EXPECTED
    resp = proxy(gw).get("/rs-chunked/big")
    assert resp.json() == dict(EXPECTED, blob=big["blob"])
    resp = proxy(gw).get("/rs-chunked/big-gz", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["content-encoding"] == "gzip"
    assert resp.json() == dict(EXPECTED, blob=big["blob"])


def test_content_length_over_http_1_0(gateway, svc, upstream):
    """A client that cannot take chunks gets the edited body's true length
    (or the end of the connection), never the service's stale one."""
    gw = gateway
    upstream.serve("/len", json.dumps(DOC))
    gw.route("/rs-len", _plugin(JSON_CONFIG))
    gw.wait_sync()
    with socket.create_connection(("127.0.0.1", gw.ports["proxy"]), timeout=10) as sock:
        sock.sendall(b"GET /rs-len/len HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-length" not in head.lower()
    assert json.loads(body) == EXPECTED
