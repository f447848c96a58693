"""Kong 3.9's ip-restriction access scenarios (spec/03-plugins/17-ip-restriction)
through a real node configured as Kong's spec: X-Forwarded-For as the real-ip
header, recursive, every address trusted."""
from __future__ import annotations

import pytest

from tests.helpers.http import admin, proxy


@pytest.fixture(scope="module")
def gateway(start_node):
    return start_node(real_ip_header="X-Forwarded-For", real_ip_recursive="on",
                      trusted_ips="0.0.0.0/0, ::/0")


@pytest.fixture(scope="module")
def ipr(gateway, svc):
    gw = gateway
    configs = {
        "/ipr1": {"deny": ["127.0.0.1", "127.0.0.2"]},
        "/ipr2": {"deny": ["127.0.0.2"]},
        "/ipr3": {"allow": ["127.0.0.2"]},
        "/ipr4": {"allow": ["127.0.0.1"]},
        "/ipr5": {"deny": ["127.0.0.0/24"]},
        "/ipr6": {"allow": ["127.0.0.4"]},
        "/ipr7": {"deny": ["127.0.0.4"]},
        "/ipr8": {"allow": ["0.0.0.0/0"]},
        "/ipr9": {"deny": ["127.0.0.1"], "status": 401, "message": "Forbidden"},
        "/ipr10": {"allow": ["127.0.0.2"], "status": 418},
        "/ipr11": {"deny": ["::1", "2001:db8::/32"]},
        "/ipr12": {"allow": ["::/0"]},
        "/ipr13": {"allow": ["127.0.0.0/24"], "deny": ["127.0.0.3"]},
    }
    plugins = {}
    for path, config in configs.items():
        route = gw.route(path)
        plugins[path] = gw.create(f"/routes/{route['id']}/plugins",
                                  {"name": "ip-restriction", "config": config})
    gw.wait_sync()
    return plugins


def _get(gateway, path, xff=None):
    return proxy(gateway).get(path, headers={"X-Forwarded-For": xff} if xff else {})


def _blocked(resp, ip, status=403, message=None):
    assert resp.status_code == status, resp.text
    assert resp.json()["message"] == (message or f"IP address not allowed: {ip}")


def test_deny(ipr, gateway):
    _blocked(_get(gateway, "/ipr1"), "127.0.0.1")
    resp = _get(gateway, "/ipr2")
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-real-ip"] == "127.0.0.1"
    _blocked(_get(gateway, "/ipr5"), "127.0.0.1")
    # X-Forwarded-For names the client
    resp = _get(gateway, "/ipr7")
    assert resp.status_code == 200
    resp = _get(gateway, "/ipr7", "127.0.0.3")
    assert resp.status_code == 200
    assert resp.json()["headers"]["x-real-ip"] == "127.0.0.3"
    _blocked(_get(gateway, "/ipr7", "127.0.0.4"), "127.0.0.4")


def test_allow(ipr, gateway):
    _blocked(_get(gateway, "/ipr3"), "127.0.0.1")
    assert _get(gateway, "/ipr4").status_code == 200
    _blocked(_get(gateway, "/ipr6"), "127.0.0.1")
    _blocked(_get(gateway, "/ipr6", "127.0.0.3"), "127.0.0.3")
    assert _get(gateway, "/ipr6", "127.0.0.4").status_code == 200
    # recursive, every hop trusted: the first address of the list
    assert _get(gateway, "/ipr6", "127.0.0.4, 127.0.0.3").status_code == 200
    _blocked(_get(gateway, "/ipr6", "127.0.0.3, 127.0.0.4"), "127.0.0.3")
    # deny first, then allow
    assert _get(gateway, "/ipr13", "127.0.0.5").status_code == 200
    _blocked(_get(gateway, "/ipr13", "127.0.0.3"), "127.0.0.3")
    _blocked(_get(gateway, "/ipr13", "10.0.0.1"), "10.0.0.1")


def test_status_and_message(ipr, gateway):
    _blocked(_get(gateway, "/ipr9"), None, 401, "Forbidden")
    assert _get(gateway, "/ipr9", "127.0.0.2").status_code == 200
    _blocked(_get(gateway, "/ipr10"), "127.0.0.1", 418)


def test_ipv6(ipr, gateway):
    _blocked(_get(gateway, "/ipr11", "::1"), "::1")
    _blocked(_get(gateway, "/ipr11", "2001:db8::1"), "2001:db8::1")
    assert _get(gateway, "/ipr11", "2001:db9::1").status_code == 200
    assert _get(gateway, "/ipr11").status_code == 200
    assert _get(gateway, "/ipr12", "fe80::1").status_code == 200
    _blocked(_get(gateway, "/ipr12"), "127.0.0.1")


def test_config_changes_without_restart(ipr, gateway):
    assert _get(gateway, "/ipr2").status_code == 200
    admin(gateway).patch(f"/plugins/{ipr['/ipr2']['id']}",
                         {"config": {"deny": ["127.0.0.1", "127.0.0.2"]}})
    gateway.wait_sync()
    _blocked(_get(gateway, "/ipr2"), "127.0.0.1")


def test_cidr_everything(ipr, gateway):
    assert _get(gateway, "/ipr8").status_code == 200
    assert _get(gateway, "/ipr8", "203.0.113.9").status_code == 200
