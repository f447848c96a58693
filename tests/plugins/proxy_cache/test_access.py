"""proxy-cache through a real node of two workers: Miss then Hit from either
worker, Kong's cache key, vary, TTL, Cache-Control both ways, Bypass, the
response_headers switches, and one upstream request for many concurrent
misses."""
from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

from tests.helpers.http import admin, proxy

# pre-function's header_filter (which runs on hits too: it comes before
# proxy-cache) names the worker that answered
WORKER = {"name": "pre-function", "config": {
    "header_filter": ["kong.response.set_header('X-Worker', ngx.worker.pid())"]}}


def _cache(**config) -> dict:
    return {"name": "proxy-cache", "config": {"strategy": "memory", **config}}


def _get(gw, path: str, **kwargs):
    resp = proxy(gw).get(path, **kwargs)
    assert resp.status_code < 500, resp.text
    return resp


def test_miss_then_hit_from_every_worker(gateway, svc, upstream):
    gw = gateway
    route = gw.route("/pc-basic", _cache(), WORKER)
    gw.wait_sync()
    before = upstream.hits
    first = _get(gw, "/pc-basic")
    assert first.headers["X-Cache-Status"] == "Miss"
    assert "Age" not in first.headers
    # Kong's key: sha256 of prefix|method|request line without query|params|headers
    expected = hashlib.sha256(
        f"{route['id']}|GET|GET /pc-basic HTTP/1.1||".encode()).hexdigest()
    assert first.headers["X-Cache-Key"] == expected
    workers = set()
    # Which worker accepts a new connection is the kernel's choice (and a
    # loaded machine may favour one): concurrent rounds until both answered.
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):
            for hit in pool.map(lambda _: _get(gw, "/pc-basic"), range(16)):
                assert hit.headers["X-Cache-Status"] == "Hit"
                assert hit.headers["X-Cache-Key"] == expected
                assert hit.content == first.content
                assert hit.headers["Content-Type"] == "application/json"
                assert int(hit.headers["Age"]) >= 0
                workers.add(hit.headers["X-Worker"])
            if len(workers) == 2:
                break
    assert upstream.hits - before == 1
    assert len(workers) == 2  # stored by one worker, served by both


def test_a_hit_carries_the_proxied_headers(gateway, svc, upstream):
    """As Kong (its plugin marks a hit KONG_PROXIED): a Hit answers with the
    upstream and proxy latencies and Via, like the Miss it repeats, and
    without the response latency of a gateway-made answer."""
    gw = gateway
    gw.route("/pc-headers", _cache())
    gw.wait_sync()
    miss = _get(gw, "/pc-headers")
    hit = _get(gw, "/pc-headers")
    assert (miss.headers["X-Cache-Status"], hit.headers["X-Cache-Status"]) == ("Miss", "Hit")
    for resp in (miss, hit):
        assert resp.headers["X-Kong-Upstream-Latency"].isdigit()
        assert resp.headers["X-Kong-Proxy-Latency"].isdigit()
        assert "X-Kong-Response-Latency" not in resp.headers
        assert resp.headers["Via"].endswith(miss.headers["Via"])
    # a hit waits for no upstream
    assert int(hit.headers["X-Kong-Upstream-Latency"]) <= 5


def test_query_and_headers_vary(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-vary", _cache(vary_query_params=["a"], vary_headers=["X-Lang"]))
    gw.route("/pc-allargs", _cache())
    gw.wait_sync()

    def status(path, **headers):
        return _get(gw, path, headers=headers).headers["X-Cache-Status"]

    assert status("/pc-vary?a=1") == "Miss"
    assert status("/pc-vary?a=1&b=2") == "Hit"  # b is not varied on
    assert status("/pc-vary?a=2") == "Miss"
    assert status("/pc-vary?a=1", **{"X-Lang": "fr"}) == "Miss"
    assert status("/pc-vary?a=1", **{"x-lang": "fr"}) == "Hit"
    assert status("/pc-vary?a=1") == "Hit"
    # without vary_query_params every argument counts, in any order
    assert status("/pc-allargs?x=1&y=2") == "Miss"
    assert status("/pc-allargs?y=2&x=1") == "Hit"
    assert status("/pc-allargs?x=1") == "Miss"


def test_ignore_uri_case(gateway, svc):
    gw = gateway
    gw.create("/services/svc/routes", {"name": "pc-case", "paths": ["~/[pP][cC]-[cC][aA][sS][eE]"]})
    gw.create("/routes/pc-case/plugins", _cache(ignore_uri_case=True))
    gw.wait_sync()
    assert _get(gw, "/pc-case/Abc").headers["X-Cache-Status"] == "Miss"
    assert _get(gw, "/PC-CASE/aBC").headers["X-Cache-Status"] == "Hit"


def test_ttl_expiry_refreshes(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-ttl", _cache(cache_ttl=1, storage_ttl=30))
    gw.wait_sync()
    before = upstream.hits
    assert _get(gw, "/pc-ttl").headers["X-Cache-Status"] == "Miss"
    assert _get(gw, "/pc-ttl").headers["X-Cache-Status"] == "Hit"
    time.sleep(2.1)
    # kept for storage_ttl, but older than cache_ttl: fetched again
    assert _get(gw, "/pc-ttl").headers["X-Cache-Status"] == "Refresh"
    hit = _get(gw, "/pc-ttl")
    assert hit.headers["X-Cache-Status"] == "Hit" and hit.headers["Age"] in ("0", "1")
    assert upstream.hits - before == 2


def test_bypass(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-bypass", _cache())
    gw.route("/pc-text", _cache(content_type=["text/plain"]))
    gw.route("/pc-wild", _cache(content_type=["application/*"]))
    gw.wait_sync()
    # a method not listed: Bypass in access
    resp = proxy(gw).post("/pc-bypass", data="x")
    assert resp.headers["X-Cache-Status"] == "Bypass" and "X-Cache-Key" not in resp.headers
    # a status not listed, a media type not listed: Bypass when the answer comes
    for path in ("/pc-bypass?status=500", "/pc-text"):
        for _ in range(2):
            resp = proxy(gw).get(path)
            assert resp.headers["X-Cache-Status"] == "Bypass", path
    # a type/* wildcard
    assert _get(gw, "/pc-wild").headers["X-Cache-Status"] == "Miss"
    assert _get(gw, "/pc-wild").headers["X-Cache-Status"] == "Hit"


def test_media_types_as_kong_parses_them(gateway, svc, upstream):
    """Kong's media types (RFC 2045): compared as written, parameters all
    equal, and a configured type that does not parse matches nothing. The
    upstream's Content-Type is set by pre-function's header_filter, which
    runs before proxy-cache's."""
    gw = gateway
    cases = {
        # configured, sent, stored
        "any": ("*/*", "application/xml", True),
        "param-missing": ("application/xml; charset=UTF-8", "application/xml", False),
        "sent-invalid": ("application/xml; charset=UTF-8", "application/xml;", False),
        "conf-invalid": ("application/xml;", "application/xml", False),
        "conf-no-value": ("application/xml; charset", "application/xml", False),
        "case": ("Application/JSON", "application/json", False),
        "quoted": ('text/plain; charset="utf-8"', "text/plain;charset=utf-8", True),
        "space-before-semicolon": ("text/plain; a=b", "text/plain ; a=b", True),
    }
    for name, (configured, sent, _) in cases.items():
        gw.route(f"/pc-mt-{name}", _cache(content_type=[configured]), {
            "name": "pre-function",
            "config": {"header_filter": [f"ngx.header['Content-Type'] = {sent!r}"]}})
    gw.wait_sync()
    for name, (_, sent, stored) in cases.items():
        first, second = _get(gw, f"/pc-mt-{name}"), _get(gw, f"/pc-mt-{name}")
        assert first.headers["Content-Type"] == sent
        statuses = (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"])
        assert statuses == (("Miss", "Hit") if stored else ("Bypass", "Bypass")), name


def test_cache_control(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-cc", _cache(cache_control=True))
    gw.route("/pc-nocc", _cache())
    gw.wait_sync()

    def status(path, **headers):
        return proxy(gw).get(path, headers=headers).headers["X-Cache-Status"]

    public = "/pc-cc?header=Cache-Control:public,max-age=60"
    assert status(public) == "Miss"
    assert status(public) == "Hit"
    # the client's directives
    assert status(public, **{"Cache-Control": "no-cache"}) == "Bypass"
    assert status(public, **{"Cache-Control": "no-store"}) == "Bypass"
    assert status(public, Authorization="Bearer x") == "Bypass"
    time.sleep(1.1)
    assert status(public, **{"Cache-Control": "max-age=0"}) == "Refresh"
    assert status(public, **{"Cache-Control": "min-fresh=120"}) == "Refresh"
    assert status(public) == "Hit"
    # the upstream's: no lifetime, private, no-store
    for header in ("", "&header=Cache-Control:private,max-age=60",
                   "&header=Cache-Control:no-store", "&header=Cache-Control:max-age=0"):
        path = "/pc-cc?v=1" + header
        assert status(path) == "Bypass", header
        assert status(path) == "Bypass", header
    # s-maxage wins over max-age
    assert status("/pc-cc?header=Cache-Control:s-maxage=30,max-age=0") == "Miss"
    assert status("/pc-cc?header=Cache-Control:s-maxage=30,max-age=0") == "Hit"
    # only-if-cached on a miss: 504
    assert proxy(gw).get("/pc-cc?never=1",
                         headers={"Cache-Control": "only-if-cached"}).status_code == 504
    # cache_control off: the directives are not looked at
    assert status("/pc-nocc?header=Cache-Control:private") == "Miss"
    assert status("/pc-nocc?header=Cache-Control:private", **{"Cache-Control": "no-cache"}) \
        == "Hit"


def test_response_headers_switches(gateway, svc):
    gw = gateway
    gw.route("/pc-quiet", _cache(response_headers={"Age": False, "X-Cache-Status": False,
                                                   "X-Cache-Key": False}))
    gw.wait_sync()
    for _ in range(2):
        resp = _get(gw, "/pc-quiet")
        assert not {"Age", "X-Cache-Status", "X-Cache-Key"} & set(resp.headers)
    resp = _get(gw, "/pc-quiet", headers={"Kong-Debug": "1"})
    assert resp.headers["X-Cache-Status"] == "Hit" and "Age" in resp.headers
    assert resp.headers["X-Cache-Key"]


def test_concurrent_misses_make_one_upstream_request(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-stampede", _cache())
    gw.wait_sync()
    before = upstream.hits
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: proxy(gw).get("/pc-stampede?delay=0.5"), range(12)))
    assert [a.status_code for a in answers] == [200] * 12
    statuses = sorted(a.headers["X-Cache-Status"] for a in answers)
    assert statuses == ["Hit"] * 11 + ["Miss"]
    assert len({a.content for a in answers}) == 1
    assert upstream.hits - before == 1


def test_injected_dictionary(gateway, svc, upstream):
    gw = gateway
    gw.route("/pc-extra", _cache(memory={"dictionary_name": "pc_extra"}))
    gw.wait_sync()
    assert _get(gw, "/pc-extra").headers["X-Cache-Status"] == "Miss"
    assert _get(gw, "/pc-extra").headers["X-Cache-Status"] == "Hit"
    body = admin(gw).post("/plugins", _cache(memory={"dictionary_name": "nope"}), 400)
    assert body["fields"] == {"@entity": ["missing shared dict 'nope'"]}
