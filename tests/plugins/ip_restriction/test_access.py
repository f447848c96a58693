"""ip-restriction through a real node: IPv4 and IPv6 addresses and ranges,
allow and deny lists, Kong 3.9's messages."""
from __future__ import annotations

import requests

from tests.helpers.http import proxy


def test_ip_restriction(gateway, svc):
    gw = gateway
    gw.route("/ipr-deny", {"name": "ip-restriction",
                           "config": {"deny": ["10.0.0.0/8", "2001:db8::/32"]}})
    gw.route("/ipr-allow", {"name": "ip-restriction", "config": {
        "allow": ["127.0.0.1", "fd00::/8"], "status": 401, "message": "nope"}})
    gw.route("/ipr-both", {"name": "ip-restriction", "config": {
        "deny": ["192.168.1.7"], "allow": ["192.168.1.0/24"]}})
    gw.wait_sync()

    def call(path: str, ip: str | None = None) -> requests.Response:
        return proxy(gw).get(path, headers={"X-Real-IP": ip} if ip else {})

    for ip in ("10.1.2.3", "2001:db8::5", "2001:db8:ffff::1"):
        resp = call("/ipr-deny", ip)
        assert resp.status_code == 403, ip
        assert resp.json()["message"] == f"IP address not allowed: {ip}"
    assert call("/ipr-deny", "2001:db9::1").status_code == 200
    assert call("/ipr-deny", "11.0.0.1").status_code == 200
    resp = call("/ipr-deny")
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-real-ip"] == "127.0.0.1"

    assert call("/ipr-allow").status_code == 200
    assert call("/ipr-allow", "fd12:3456::1").status_code == 200
    resp = call("/ipr-allow", "8.8.8.8")
    assert (resp.status_code, resp.json()["message"]) == (401, "nope")
    assert call("/ipr-allow", "fe80::1").status_code == 401

    assert call("/ipr-both", "192.168.1.7").status_code == 403
    assert call("/ipr-both", "192.168.1.8").status_code == 200
    resp = call("/ipr-both", "192.168.2.1")
    assert (resp.status_code, resp.json()["message"]) == (
        403, "IP address not allowed: 192.168.2.1")
