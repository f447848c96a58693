"""request-size-limiting through a real node: Content-Length, chunked and
spooled bodies, Kong 3.9's statuses and messages."""
from __future__ import annotations

from tests.helpers.http import proxy


def _chunks(data: bytes, size: int = 3):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_request_size_limiting(gateway, svc):
    gw = gateway
    gw.route("/rsl", {"name": "request-size-limiting",
                      "config": {"allowed_payload_size": 10, "size_unit": "bytes"}})
    gw.route("/rsl-kb", {"name": "request-size-limiting",
                         "config": {"allowed_payload_size": 1, "size_unit": "kilobytes"}})
    gw.wait_sync()
    assert proxy(gw).post("/rsl", data=b"x" * 10).status_code == 200
    resp = proxy(gw).post("/rsl", data=b"x" * 11)
    assert (resp.status_code, resp.json()["message"]) == (413, "Request size limit exceeded")
    resp = proxy(gw).post("/rsl", data=b"x" * 11, headers={"Expect": "100-Continue "})
    assert (resp.status_code, resp.json()["message"]) == (417, "Request size limit exceeded")
    # chunked bodies carry no Content-Length: the body itself is measured
    resp = proxy(gw).post("/rsl", data=_chunks(b"y" * 11))
    assert resp.status_code == 413
    resp = proxy(gw).post("/rsl", data=_chunks(b"y" * 10))
    assert resp.status_code == 200 and resp.json()["body"] == "y" * 10
    assert proxy(gw).post("/rsl-kb", data=b"k" * 1024).status_code == 200
    assert proxy(gw).post("/rsl-kb", data=b"k" * 1025).status_code == 413
    # larger than client_body_buffer_size: spooled to a file and measured there
    resp = proxy(gw).post("/rsl-kb", data=_chunks(b"z" * 40000, 4096))
    assert resp.status_code == 413
    assert proxy(gw).post("/rsl-kb", data=_chunks(b"z" * 1000, 100)).status_code == 200


def test_request_size_limiting_requires_length(gateway, svc):
    gw = gateway
    gw.route("/rsl-req", {"name": "request-size-limiting", "config": {
        "allowed_payload_size": 1, "size_unit": "kilobytes", "require_content_length": True}})
    gw.wait_sync()
    resp = proxy(gw).get("/rsl-req")
    assert (resp.status_code, resp.json()["message"]) == (
        411, "A valid Content-Length header is required")
    assert proxy(gw).post("/rsl-req", data=b"ok").status_code == 200
    assert proxy(gw).post("/rsl-req", data=_chunks(b"ok")).status_code == 200
    assert proxy(gw).post("/rsl-req", data=_chunks(b"o" * 2000)).status_code == 413
