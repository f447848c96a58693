"""proxy-cache against the scenarios of Kong's access spec not covered in
test_access.py: the lifetimes an answer gives itself (max-age alone,
s-maxage alone, Expires), max-stale, keys per route for one consumer,
unauthenticated requests, non-default methods and statuses, query
arguments in any order."""
from __future__ import annotations

import re
import time
from email.utils import formatdate
from urllib.parse import quote

from tests.helpers.http import proxy
from tests.helpers.serving import ServingServer


def _cache(**config) -> dict:
    return {"name": "proxy-cache", "config": {"strategy": "memory", **config}}


def _status(gw, path: str, **headers) -> str:
    resp = proxy(gw).get(path, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.headers["X-Cache-Status"]


def test_lifetimes_the_answer_gives(gateway, svc):
    gw = gateway
    gw.route("/pck-cc", _cache(cache_control=True))
    gw.route("/pck-stale", _cache(cache_control=True, storage_ttl=600))
    gw.wait_sync()
    expires = quote(formatdate(time.time() + 5000, usegmt=True))
    for path in ("/pck-cc?header=Cache-Control:max-age%3D604800",
                 "/pck-cc?header=Cache-Control:s-maxage%3D604800",
                 f"/pck-cc?header=Expires:{expires}"):
        assert _status(gw, path) == "Miss", path
        assert _status(gw, path) == "Hit", path
    # a request's max-age older than the stored answer: fetched again
    path = "/pck-cc?header=Cache-Control:public,max-age%3D10"
    assert _status(gw, path, **{"Cache-Control": "max-age=2"}) == "Miss"
    assert _status(gw, path, **{"Cache-Control": "max-age=2"}) == "Hit"
    # kept for storage_ttl after its own max-age: stale beyond max-stale
    stale = "/pck-stale?header=Cache-Control:public,max-age%3D2"
    assert _status(gw, stale) == "Miss"
    assert _status(gw, stale) == "Hit"
    time.sleep(3.2)
    assert _status(gw, path, **{"Cache-Control": "max-age=2"}) == "Refresh"
    time.sleep(1)
    assert _status(gw, stale, **{"Cache-Control": "max-stale=1"}) == "Refresh"


def test_keys_per_route_and_consumer(gateway, svc, bob):
    gw = gateway
    keyauth = {"name": "key-auth"}
    gw.route("/pck-auth-a", _cache(), keyauth)
    gw.route("/pck-auth-b", _cache(), keyauth)
    gw.create("/consumers", {"username": "alice"})
    gw.create("/consumers/alice/key-auth", {"key": "alice-key"})
    gw.wait_sync()
    resp = proxy(gw).get("/pck-auth-a")
    assert resp.status_code == 401 and "X-Cache-Status" not in resp.headers
    keys = set()
    for path in ("/pck-auth-a", "/pck-auth-b"):
        for key in ("bob-key", "alice-key"):
            first = proxy(gw).get(path, headers={"apikey": key})
            second = proxy(gw).get(path, headers={"apikey": key})
            assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) \
                == ("Miss", "Hit")
            assert first.headers["X-Cache-Key"] == second.headers["X-Cache-Key"]
            keys.add(first.headers["X-Cache-Key"])
    assert len(keys) == 4


def test_non_default_methods_and_statuses(gateway, svc):
    gw = gateway
    gw.route("/pck-post", _cache(response_code=[200, 417], content_type=["application/json"],
                                 request_method=["GET", "HEAD", "POST"]))
    gw.wait_sync()
    for _ in ("Miss", "Hit"):
        resp = proxy(gw).post("/pck-post", json={"foo": "bar"})
        assert resp.status_code == 200 and resp.headers["X-Cache-Status"] == _
    for _ in ("Miss", "Hit"):
        resp = proxy(gw).get("/pck-post?status=417")
        assert resp.status_code == 417 and resp.headers["X-Cache-Status"] == _
    resp = proxy(gw).get("/pck-post?status=418")
    assert resp.status_code == 418 and resp.headers["X-Cache-Status"] == "Bypass"
    # a cacheable request whose answer is not: its key was already announced
    assert re.fullmatch("[0-9a-f]{64}", resp.headers["X-Cache-Key"])


def test_query_arguments_in_any_order(gateway, svc):
    gw = gateway
    gw.route("/pck-args", _cache())
    gw.route("/pck-some-args", _cache(vary_query_params=["foo"]))
    gw.wait_sync()
    assert _status(gw, "/pck-args?a=b&b=c") == "Miss"
    assert _status(gw, "/pck-args?a=c") == "Miss"
    assert _status(gw, "/pck-args?b=c&a=b") == "Hit"
    assert _status(gw, "/pck-args?a&b") == "Miss"
    assert _status(gw, "/pck-args?a&b") == "Hit"
    assert _status(gw, "/pck-some-args?foo=b&b=c") == "Miss"
    assert _status(gw, "/pck-some-args?b=d&foo=b") == "Hit"


def test_a_streamed_answer(gateway):
    gw = gateway
    server = ServingServer().start()
    try:
        server.serve("/stream", "\n".join(['{"line": %d}' % i for i in range(3)]),
                     chunked=True)
        gw.create("/services", {"name": "pck-streaming", "url": server.url})
        gw.route("/pck-stream", _cache(), service="pck-streaming")
        gw.wait_sync()
        first = proxy(gw).get("/pck-stream/stream")
        assert first.headers["X-Cache-Status"] == "Miss"
        assert "Content-Length" not in first.headers
        second = proxy(gw).get("/pck-stream/stream")
        assert second.headers["X-Cache-Status"] == "Hit"
        assert second.content == first.content
    finally:
        server.stop()
