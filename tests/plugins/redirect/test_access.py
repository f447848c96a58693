"""redirect through a real node: status, Location, the request's path and query."""
from __future__ import annotations

import pytest

from tests.helpers.http import proxy


@pytest.fixture(scope="module")
def routes(gateway, svc):
    gw = gateway
    gw.route("/rd-default", {"name": "redirect",
                             "config": {"location": "https://example.com/new?x=1"}})
    gw.route("/rd-302", {"name": "redirect", "config": {
        "location": "http://example.org", "status_code": 302}})
    gw.route("/rd-keep", {"name": "redirect", "config": {
        "location": "https://User@Example.COM:8443/ignored/path?drop=1#frag",
        "keep_incoming_path": True, "status_code": 308}})
    gw.wait_sync()
    return gw


def test_location_as_is(routes):
    resp = proxy(routes).get("/rd-default/a?b=c", allow_redirects=False)
    assert resp.status_code == 301
    assert resp.headers["Location"] == "https://example.com/new?x=1"
    assert resp.text == "redirecting"
    assert resp.headers["Server"].startswith("kongpy/")
    resp = proxy(routes).post("/rd-302", allow_redirects=False)
    assert (resp.status_code, resp.headers["Location"]) == (302, "http://example.org")


def test_keep_incoming_path(routes):
    resp = proxy(routes).get("/rd-keep/a/b?q=1&r", allow_redirects=False)
    assert resp.status_code == 308
    # the request's path and raw query replace the location's; scheme,
    # authority (host lower-cased) and fragment are kept
    assert resp.headers["Location"] == "https://User@example.com:8443/rd-keep/a/b?q=1&r#frag"
    resp = proxy(routes).get("/rd-keep", allow_redirects=False)
    assert resp.headers["Location"] == "https://User@example.com:8443/rd-keep#frag"


def test_upstream_never_called(routes, upstream):
    before = upstream.connections
    for _ in range(3):
        assert proxy(routes).get("/rd-default", allow_redirects=False).status_code == 301
    assert upstream.connections == before
