"""Kong's configure hook and response phase, seen through the phase-probe
fixture plugin (tests/fixtures/plugins/kong/plugins/phase-probe/)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.http import admin, proxy

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(plugins="bundled, phase-probe, test-tag",
                      plugins_path=str(FIXTURE_PLUGINS),
                      headers="server_tokens, latency_tokens, X-Kong-Upstream-Status")


def _probe(gw, path: str, **config) -> dict:
    route = gw.route(path, {"name": "phase-probe", "config": {"tag": path.strip("/"),
                                                              **config}})
    gw.wait_sync()
    return route


def test_configure_gets_every_enabled_instance_in_every_worker(gateway, svc):
    gw = gateway
    _probe(gw, "/configured")
    extra = gw.create("/plugins", {"name": "phase-probe", "config": {"tag": "zz-global"},
                                   "protocols": ["https"]})
    gw.wait_sync()

    def seen() -> set[str]:
        # new connections land on both workers
        return {proxy(gw).get("/configured", headers={"Connection": "close"})
                .headers["X-Probe-Configured"] for _ in range(12)}

    assert seen() == {"configured,zz-global"}
    admin(gw).patch(f"/plugins/{extra['id']}", {"enabled": False})
    gw.wait_sync()
    assert seen() == {"configured"}


def test_response_handler_sees_the_buffered_answer(gateway, svc):
    gw = gateway
    _probe(gw, "/buffered")
    resp = proxy(gw).get("/buffered/x?q=1")
    assert resp.status_code == 200
    upstream = resp.json()
    # the upstream answered the client's request, with the access phase's header
    assert (upstream["method"], upstream["path"]) == ("GET", "/x?q=1")
    assert upstream["headers"]["x-probe-tag"] == "buffered"
    assert resp.headers["X-Probe-Upstream-Status"] == "200"
    assert resp.headers["X-Probe-Body-Length"] == str(len(resp.content))
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Probe-Same-Ctx"] == "true"
    # the node's own headers and the plugin's later phases still apply
    assert resp.headers["X-Kong-Upstream-Status"] == "200"
    assert "X-Kong-Upstream-Latency" in resp.headers
    assert resp.headers["X-Probe-Header-Filter"] == "ran"
    assert resp.headers["Via"].startswith("1.1 kongpy/")


def test_bodies_and_methods_reach_the_upstream(gateway, svc):
    gw = gateway
    _probe(gw, "/bodies")
    payload = "x" * 200_000
    resp = proxy(gw).post("/bodies", data=payload, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 200
    assert resp.json()["body"] == payload
    # a method a subrequest cannot name still reaches the upstream as sent
    resp = proxy(gw).request("PURGE", "/bodies", data="gone")
    assert resp.json()["method"] == "PURGE" and resp.json()["body"] == "gone"
    resp = proxy(gw).request("HEAD", "/bodies")
    assert resp.status_code == 200 and resp.content == b""
    assert int(resp.headers["Content-Length"]) > 0


def test_response_handler_changes_status_or_replaces_the_answer(gateway, svc):
    gw = gateway
    _probe(gw, "/restatus", set_status=418)
    resp = proxy(gw).get("/restatus")
    assert resp.status_code == 418
    assert resp.json()["path"] == "/"
    _probe(gw, "/appended", append="\n-- appended")
    resp = proxy(gw).get("/appended")
    assert resp.text.endswith("}\n-- appended")
    assert resp.headers["Content-Length"] == str(len(resp.content))
    assert json.loads(resp.text.rsplit("\n", 1)[0])["path"] == "/"
    _probe(gw, "/replaced", replace_status=201)
    resp = proxy(gw).get("/replaced")
    assert resp.status_code == 201
    body = resp.json()
    assert body["replaced"] == "replaced" and body["upstream_length"] > 0
    assert resp.headers["Content-Length"] == str(len(resp.content))


def test_upstream_errors_pass_through_the_response_phase(gateway, svc):
    gw = gateway
    _probe(gw, "/failing")
    resp = proxy(gw).get("/failing?status=503")
    assert resp.status_code == 503
    assert resp.headers["X-Probe-Upstream-Status"] == "503"
    assert resp.json()["path"] == "/?status=503"
    gw.create("/services", {"name": "down", "url": "http://127.0.0.1:9"})
    gw.route("/down", {"name": "phase-probe", "config": {"tag": "down"}}, service="down")
    gw.wait_sync()
    resp = proxy(gw).get("/down")
    assert resp.status_code == 502, (resp.text, gw.error_log_tail())
    assert json.loads(resp.content)["message"] == ("An invalid response was received from "
                                                   "the upstream server")


def test_priority_orders_the_plugins(gateway, svc):
    gw = gateway
    route = _probe(gw, "/ordered")
    gw.create(f"/routes/{route['id']}/plugins", {"name": "test-tag", "config": {"tag": "first"}})
    gw.wait_sync()
    seen = proxy(gw).get("/ordered").json()["headers"]
    assert seen["x-probe-saw-tag"] == "first" and seen["x-test-tag"] == "first"


@pytest.mark.parametrize("phase", ["access", "response"])
def test_a_plugin_error_gives_kongs_500_and_a_log_line(gateway, svc, phase):
    gw = gateway
    _probe(gw, f"/failing-{phase}", fail_in=phase)
    resp = proxy(gw).get(f"/failing-{phase}")
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unexpected error occurred"
    log = (gw.prefix / "logs" / "error.log").read_text(errors="replace")
    assert f"phase-probe failed on purpose in {phase}" in log


def _once(resp, name: str) -> str:
    values = resp.raw.headers.getlist(name)
    assert len(values) == 1, (name, values)
    return values[0]


UPSTREAM_COPIES = [("header", "Via:1.0 inner"), ("header", "X-Kong-Request-Id:upstream-id"),
                   ("header", "X-Kong-Proxy-Latency:999999"),
                   ("header", "X-Kong-Upstream-Latency:999999")]


def test_gateway_headers_replace_a_header_filters_copies(gateway, svc):
    """Kong sets Via and the latencies after the plugins' header_filter: a
    plugin's copy does not go out beside them. This node does not send
    X-Kong-Request-Id (`headers`): the upstream's passes as it is."""
    gw = gateway
    gw.route("/own-headers", {"name": "response-transformer", "config": {"add": {"headers": [
        "Via:plugin", "X-Kong-Request-Id:plugin", "X-Kong-Proxy-Latency:999999",
        "X-Kong-Upstream-Latency:999999"]}}})
    gw.wait_sync()
    resp = proxy(gw).get("/own-headers", params=UPSTREAM_COPIES)
    assert resp.status_code == 200
    assert _once(resp, "Via").startswith("1.0 inner, 1.1 kongpy/")
    # (response-transformer adds no header the answer has already)
    assert resp.raw.headers.getlist("X-Kong-Request-Id") == ["upstream-id"]
    assert _once(resp, "X-Kong-Proxy-Latency") != "999999"
    assert _once(resp, "X-Kong-Upstream-Latency") != "999999"


def test_buffered_answer_carries_the_gateway_headers_once(gateway, svc):
    """The buffered answer is made from the upstream's headers: their copies
    of the gateway's give way as well."""
    # (X-Kong-Request-Id is not among this node's `headers`)
    gw = gateway
    _probe(gw, "/buffered-own")
    resp = proxy(gw).get("/buffered-own", params=UPSTREAM_COPIES)
    assert resp.status_code == 200
    assert _once(resp, "Via").startswith("1.0 inner, 1.1 kongpy/")
    assert _once(resp, "X-Kong-Request-Id") == "upstream-id"
    assert _once(resp, "X-Kong-Proxy-Latency") != "999999"
    assert _once(resp, "X-Kong-Upstream-Latency") != "999999"
