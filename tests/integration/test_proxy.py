"""Admin API → data plane → upstream, through a real node started by the CLI."""
from __future__ import annotations

import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway


def test_service_and_route_proxy_to_upstream_path(gateway, upstream):
    resp = gateway.post("/services", data={"name": "echo", "url": f"{upstream.url}/base"})
    assert resp.status_code == 201, resp.text
    resp = gateway.post("/services/echo/routes", data={"paths[]": "/echo"})
    assert resp.status_code == 201, resp.text
    gateway.wait_sync()

    resp = requests.get(gateway.proxy + "/echo/x?a=1", headers={"Host": "example.test"},
                        timeout=5)
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["path"] == "/base/x?a=1"
    headers = seen["headers"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "example.test"
    assert headers["x-forwarded-port"] == str(gateway.ports["proxy"])
    assert headers["x-forwarded-path"] == "/echo/x"
    assert headers["x-forwarded-prefix"] == "/echo"
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["host"] == f"127.0.0.1:{upstream.port}"

    assert int(resp.headers["X-Kong-Upstream-Latency"]) >= 0
    assert int(resp.headers["X-Kong-Proxy-Latency"]) >= 0
    assert "kongpy/" in resp.headers["Via"]
    # The upstream sent its own Server header; the gateway keeps it.
    assert resp.headers["Server"].startswith("echo-upstream")


def test_no_route_answers_kong_404(gateway):
    resp = requests.get(gateway.proxy + "/nothing-here", timeout=5)
    assert resp.status_code == 404
    body = resp.json()
    assert body["message"] == "no Route matched with those values"
    assert resp.headers["Server"].startswith("kongpy/")
    assert "X-Kong-Response-Latency" in resp.headers


def test_client_forwarded_headers_not_trusted(gateway, upstream):
    gateway.create("/services", {"name": "trust", "url": upstream.url})
    gateway.create("/services/trust/routes", {"paths": ["/trust"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/trust", timeout=5, headers={
        "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.test", "X-Real-IP": "9.9.9.9"})
    headers = resp.json()["headers"]
    # X-Forwarded-For is always appended to; the others are replaced.
    assert headers["x-forwarded-for"] == "1.2.3.4, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "127.0.0.1"
    assert headers["x-real-ip"] == "127.0.0.1"


def test_route_without_service_answers_503(gateway):
    gateway.create("/routes", {"name": "orphan", "paths": ["/orphan"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/orphan", timeout=5)
    assert resp.status_code == 503
    assert resp.json()["message"] == "no Service found with those values"


def test_upstream_down_answers_502(gateway):
    from tests.helpers.servers import free_port
    gateway.create("/services", {"name": "down", "url": f"http://127.0.0.1:{free_port()}",
                                 "retries": 0})
    gateway.create("/services/down/routes", {"paths": ["/down"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/down", timeout=5, headers={"Accept": "application/json"})
    assert resp.status_code == 502
    assert resp.json()["message"] == "An invalid response was received from the upstream server"


def test_upstream_timeout_answers_504(gateway, upstream):
    gateway.create("/services", {"name": "slow", "url": upstream.url, "read_timeout": 200,
                                 "retries": 0})
    gateway.create("/services/slow/routes", {"paths": ["/slow"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/slow?delay=1", timeout=5,
                        headers={"Accept": "application/json"})
    assert resp.status_code == 504
    assert resp.json()["message"] == "The upstream server is timing out"


def test_strip_path_false_and_preserve_host(gateway, upstream):
    gateway.create("/services", {"name": "keep", "url": f"{upstream.url}/s"})
    gateway.create("/services/keep/routes", {
        "paths": ["/keep"], "strip_path": False, "preserve_host": True})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/keep/x", headers={"Host": "client.test"}, timeout=5)
    seen = resp.json()
    assert seen["path"] == "/s/keep/x"
    assert seen["headers"]["host"] == "client.test"


def test_https_proxy_listener(gateway, upstream):
    gateway.create("/services", {"name": "tls", "url": upstream.url})
    gateway.create("/services/tls/routes", {"paths": ["/tls"], "protocols": ["https"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy_ssl + "/tls", timeout=5, verify=False)
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-forwarded-proto"] == "https"
    # An https-only route reached over plain http gets Kong's 426.
    resp = requests.get(gateway.proxy + "/tls", timeout=5)
    assert resp.status_code == 426
    assert resp.json()["message"] == "Please use HTTPS protocol"


def test_debug_header_only_when_allowed(tmp_path, upstream):
    require_binary("nginx")
    for allowed in (True, False):
        (tmp_path / str(allowed)).mkdir()
        node = Gateway(tmp_path / str(allowed), workers=1,
                       extra={"allow_debug_header": "on" if allowed else "off"}).start()
        try:
            svc = node.create("/services", {"name": "dbg", "url": upstream.url})
            route = node.create("/services/dbg/routes", {"name": "dbg-r", "paths": ["/dbg"]})
            node.wait_sync()
            plain = requests.get(node.proxy + "/dbg", timeout=5)
            asked = requests.get(node.proxy + "/dbg", headers={"Kong-Debug": "1"}, timeout=5)
            assert "Kong-Route-Id" not in plain.headers
            expected = {"Kong-Route-Id": route["id"], "Kong-Route-Name": "dbg-r",
                        "Kong-Service-Id": svc["id"], "Kong-Service-Name": "dbg"}
            got = {k: asked.headers.get(k) for k in expected}
            assert got == (expected if allowed else dict.fromkeys(expected))
        finally:
            node.stop()


def test_route_paths_take_the_routers_normal_form(gateway, upstream):
    """Kong's router matches the request path with every escape decoded but a
    reserved character's, and its route schema asks for paths in that form:
    an escaped `é` or space is refused (it could never match), the raw one
    matches the escaped request."""
    gateway.create("/services", {"name": "utf8", "url": upstream.url})
    resp = gateway.post("/services/utf8/routes", json={"paths": ["/caf%C3%A9"]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["fields"] == {
        "paths": ["non-normalized path, consider use '/café' instead"]}
    resp = gateway.post("/services/utf8/routes", json={"paths": ["/a%20b"]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["fields"] == {
        "paths": ["non-normalized path, consider use '/a b' instead"]}

    gateway.create("/services/utf8/routes", {"paths": ["/café"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/caf%C3%A9/x", timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/x"
    # the echo server reads header bytes as latin-1
    prefix = resp.json()["headers"]["x-forwarded-prefix"]
    assert prefix.encode("latin-1").decode() == "/café"


def test_an_escaped_percent_stays_escaped(gateway, upstream):
    """`%` is reserved to Kong's normal form: `%25` is matched and sent on as
    it came, never decoded into the start of another escape."""
    gateway.create("/services", {"name": "pct", "url": upstream.url})
    gateway.create("/services/pct/routes", {"paths": ["/p%25q"]})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/p%25q/a%25b", timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/a%25b"
    routes = requests.get(gateway.admin + "/services/pct/routes", timeout=5).json()["data"]
    assert routes[0]["paths"] == ["/p%25q"]


def test_regex_paths_are_pcre(gateway, upstream):
    """Kong checks a regex path with PCRE, the engine its router runs: an
    inline flag after the start (`(?i)`) is valid there, and the route then
    matches as PCRE says (case-insensitively here)."""
    gateway.create("/services", {"name": "pcre", "url": upstream.url})
    gateway.create("/services/pcre/routes", {
        "paths": [r"~/(?i)pcre-users/(?<id>\d+)$"], "strip_path": False})
    gateway.wait_sync()
    resp = requests.get(gateway.proxy + "/PCRE-Users/42", timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/PCRE-Users/42"
    resp = requests.get(gateway.proxy + "/pcre-users/x", timeout=5)
    assert resp.status_code == 404


def test_hosts_are_read_by_kongs_rules(gateway):
    """kong.tools.ip's rules decide what a host is: no label may end with '-',
    no empty label but a last one, no IPv6 zone id; a host that may carry a
    port is refused with that module's own message."""
    resp = gateway.post("/services", json={"host": "a..example.test"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["fields"] == {"host": "invalid value: a..example.test"}
    resp = gateway.post("/routes", json={"hosts": ["a-.example.test", "ok.example.test."]})
    assert resp.status_code == 400, resp.text
    assert resp.json()["fields"] == {"hosts": ["invalid hostname: a-.example.test"]}
    resp = gateway.post("/services", json={"host": "fe80::1%eth0"})
    assert resp.status_code == 400, resp.text
