"""Hop-by-hop headers through a real node: what Kong strips on the way to the
upstream and on the way back (kong/runloop/handler.lua, access and
header_filter), WebSocket upgrades kept."""
from __future__ import annotations

import http.client
import json
from urllib.parse import quote

import pytest


@pytest.fixture(scope="module")
def hop(gateway, upstream):
    gateway.proxied("hop", upstream.url, "/hop")
    return gateway


def _get(node, path: str, headers: list[tuple[str, str]]):
    conn = http.client.HTTPConnection("127.0.0.1", node.ports["proxy"], timeout=5)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def test_request_hop_by_hop_headers_do_not_reach_the_upstream(hop):
    status, _, body = _get(hop, "/hop", [
        ("Connection", "keep-alive, X-Hop-One, x-hop-two"),
        ("X-Hop-One", "1"), ("X-Hop-Two", "2"), ("X-Kept", "3"),
        ("Proxy", "http://evil.test"), ("Proxy-Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"), ("TE", "trailers, deflate"), ("Upgrade", "h2c")])
    assert status == 200, body
    seen = json.loads(body)["headers"]
    for name in ("x-hop-one", "x-hop-two", "proxy", "proxy-connection", "keep-alive",
                 "upgrade"):
        assert name not in seen, name
    assert seen["x-kept"] == "3"
    assert seen["te"] == "trailers"
    assert seen["connection"] == "keep-alive"


def test_websocket_upgrade_headers_still_reach_the_upstream(hop):
    status, _, body = _get(hop, "/hop", [("Connection", "Upgrade"), ("Upgrade", "websocket")])
    assert status == 200, body
    seen = json.loads(body)["headers"]
    assert seen["upgrade"] == "websocket"
    assert seen["connection"] == "keep-alive, Upgrade"


def _answer_with(*headers: str) -> str:
    return "/hop?" + "&".join("header=" + quote(h, safe="") for h in headers)


def test_response_hop_by_hop_headers_do_not_reach_the_client(hop):
    path = _answer_with("Connection:X-Resp-Hop", "X-Resp-Hop:1", "X-Resp-Kept:2",
                        "Trailer:X-Checksum", "Upgrade:h2c", "Keep-Alive:timeout=5")
    status, headers, body = _get(hop, path, [])
    assert status == 200, body
    for name in ("X-Resp-Hop", "Trailer", "Upgrade", "Keep-Alive"):
        assert headers.get(name) is None, name
    assert headers["X-Resp-Kept"] == "2"
    # each on its own (the upstream's Connection alone is not what strips them)
    for extra in ("Upgrade:h2c", "Trailer:X-Checksum", "Keep-Alive:timeout=5"):
        status, headers, body = _get(hop, _answer_with(extra), [])
        assert status == 200, body
        assert headers.get(extra.split(":")[0]) is None, extra
    # a client that asked for trailers keeps Trailer
    status, headers, body = _get(hop, _answer_with("Trailer:X-Checksum"), [("TE", "trailers")])
    assert status == 200, body
    assert headers["Trailer"] == "X-Checksum"
