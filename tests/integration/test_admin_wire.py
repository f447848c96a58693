"""The Admin API of a running node, as clients reach it over the wire: raw
UTF-8 request targets, the path's bytes given to ``/tags/``, and ``GET
/status`` with the data plane's own memory figures."""
from __future__ import annotations

import json
import re
import socket
import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One node (one worker), a 4m snapshot dict, shared by this module's tests."""
    require_binary("nginx")
    gw = Gateway(tmp_path_factory.mktemp("wire"), workers=1,
                 extra={"snapshot_cache_size": "4m"}).start()
    yield gw
    gw.stop()


def _raw(node: Gateway, method: str, target: bytes) -> tuple[int, bytes, bytes]:
    """One request whose target is sent byte for byte (no percent-encoding)."""
    with socket.create_connection(("127.0.0.1", node.ports["admin"]), timeout=10) as sock:
        sock.sendall(method.encode() + b" " + target + b" HTTP/1.1\r\n"
                     b"Host: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, body


def test_raw_utf8_paths_are_served(node):
    name = "円"
    requests.post(node.admin + "/services", json={"name": name, "host": "example.com"},
                  timeout=5).raise_for_status()
    requests.post(node.admin + "/routes", json={"name": name, "paths": ["/yen"],
                                                "service": {"name": name}},
                  timeout=5).raise_for_status()
    requests.post(node.admin + "/consumers", json={"username": name},
                  timeout=5).raise_for_status()
    requests.post(node.admin + "/plugins", json={"name": "cors", "instance_name": name},
                  timeout=5).raise_for_status()
    raw = name.encode()
    for collection in (b"services", b"routes", b"consumers", b"plugins"):
        status, head, body = _raw(node, "GET", b"/" + collection + b"/" + raw)
        assert status == 200, (collection, head, body)
        assert b"application/json" in head
        assert requests.get(f"{node.admin}/{collection.decode()}/{name}", timeout=5).json(
            )["id"] in body.decode()
    # the same bytes, percent-encoded, name the same entity
    status, _, body = _raw(node, "GET", b"/routes/%E5%86%86?x=1")
    assert status == 200 and name in body.decode()
    status, _, body = _raw(node, "GET", b"/routes/" + raw + b"nope")
    assert (status, body) == (404, b'{"message":"Not found"}')
    for collection in (b"routes", b"plugins", b"consumers", b"services"):
        assert _raw(node, "DELETE", b"/" + collection + b"/" + raw)[0] == 204
    assert requests.get(node.admin + "/services", timeout=5).json()["data"] == []


def test_controls_in_a_target_are_refused(node):
    # what nginx refuses in front of Kong stays refused
    assert _raw(node, "GET", b"/routes/a\x01b")[0] == 400


def test_tag_with_invalid_utf8(node):
    status, _, body = _raw(node, "GET", b"/tags/\xff")
    assert status == 400, body
    assert json.loads(body) == {
        "code": 10, "name": "invalid unique tag",
        "message": "invalid utf-8 character sequence detected at position 1"}
    requests.post(node.admin + "/consumers", json={"username": "t", "tags": ["円"]},
                  timeout=5).raise_for_status()
    status, _, body = _raw(node, "GET", "/tags/円".encode())
    assert status == 200 and '"entity_name":"consumers"' in body.decode()


def test_a_thousand_query_arguments(node):
    # Kong's 21-truncated_arguments_spec: 1000 arguments are read (a request
    # line of some 6 KB, within nginx's 8k buffers), the 1001st is refused
    many = "&".join(f"a={i}" for i in range(1001))
    status, _, body = _raw(node, "GET", b"/plugins?" + many.encode())
    assert status == 400 and json.loads(body) == {"message": "Too many arguments"}
    status, _, body = _raw(node, "GET", b"/plugins?" + many.rsplit("&", 1)[0].encode())
    assert status == 200, body


def _status(node: Gateway, **params: str) -> requests.Response:
    return requests.get(node.admin + "/status", params=params, timeout=5)


def test_status_memory_is_the_data_plane_s(node):
    # the worker reports its Lua VM about every second after it starts
    deadline = time.monotonic() + 10
    while True:
        vms = _status(node, unit="b").json()["memory"]["workers_lua_vms"]
        if vms or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    pids = requests.get(node.admin + "/", timeout=5).json()["pids"]["workers"]
    assert [vm["pid"] for vm in vms] == pids and len(pids) == 1
    # a LuaJIT VM that runs the gateway holds some hundreds of KiB at least
    assert isinstance(vms[0]["http_allocated_gc"], int)
    assert vms[0]["http_allocated_gc"] > 100 * 1024
    dicts = _status(node, unit="b").json()["memory"]["lua_shared_dicts"]
    # the capacity nginx gave the zone (4m less nginx's own slab header)
    snap = dicts["kongpy_snapshot"]
    assert 4 * 2 ** 20 - 64 * 1024 < snap["capacity"] <= 4 * 2 ** 20
    assert 0 < snap["allocated_slabs"] < snap["capacity"]
    assert "kongpy_cache" in dicts


def test_status_units_and_scale(node):
    body = _status(node).json()
    assert set(body) == {"memory", "server", "database"}
    snap = body["memory"]["lua_shared_dicts"]["kongpy_snapshot"]
    assert re.fullmatch(r"\d\.\d\d MiB", snap["capacity"]), snap
    snap = _status(node, unit="K", scale="4").json()["memory"]["lua_shared_dicts"][
        "kongpy_snapshot"]
    assert re.fullmatch(r"\d{4}\.\d{4} KiB", snap["capacity"]), snap
    snap = _status(node, unit="g", scale="0").json()["memory"]["lua_shared_dicts"][
        "kongpy_snapshot"]
    assert snap["capacity"] == "0 GiB"
    # a scale that is no number is the default one, as Lua's tonumber gives nil
    snap = _status(node, scale="x").json()["memory"]["lua_shared_dicts"]["kongpy_snapshot"]
    assert re.fullmatch(r"\d\.\d\d MiB", snap["capacity"]), snap
    resp = _status(node, unit="V")
    assert (resp.status_code, resp.json()) == (
        400, {"message": "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')"})
    resp = _status(node, unit="k", scale="-1")
    assert (resp.status_code, resp.json()) == (
        400, {"message": "scale must be equal or greater than 0"})
