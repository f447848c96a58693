"""oauth2 across nodes and outages: a token issued by one node works on
another sharing the PostgreSQL datastore, a refresh on one retires the old
token on both, and a datastore that does not answer gives Kong's 500 with
nothing stored."""
from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlencode

import pytest
import requests
import urllib3

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway, shared_datastore_nodes
from tests.helpers.http import admin
from tests.helpers.outage import OwnPostgres
from tests.helpers.servers import EchoServer

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

CONFIG = {"enable_password_grant": True, "provision_key": "pk"}


def _setup(node, upstream_url: str) -> None:
    api = admin(node)
    api.post("/services", {"name": "svc", "url": upstream_url})
    route = api.post("/services/svc/routes", {"paths": ["/api"]})
    api.post(f"/routes/{route['id']}/plugins", {"name": "oauth2", "config": CONFIG})
    api.post("/consumers", {"username": "carol"})
    api.post("/consumers/carol/oauth2", {"name": "app", "client_id": "cid",
                                         "client_secret": "csecret",
                                         "redirect_uris": ["https://app.test/"]})


def _token(node, **extra) -> requests.Response:
    data = {"grant_type": "password", "provision_key": "pk", "authenticated_userid": "u1",
            "client_id": "cid", "client_secret": "csecret", **extra}
    return requests.post(f"https://127.0.0.1:{node.ports['proxy_ssl']}/api/oauth2/token",
                         data=data, verify=False, timeout=20)


def _status(node, token: str) -> int:
    return requests.get(node.proxy + "/api/x", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).status_code


def _eventually(node, token: str, status: int, within: float) -> None:
    deadline = time.monotonic() + within
    seen = _status(node, token)
    while seen != status and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = _status(node, token)
    assert seen == status


@pytest.fixture(scope="module")
def echo_upstream():
    server = EchoServer("upstream").start()
    yield server
    server.stop()


def test_token_works_on_another_node(tmp_path_factory, echo_upstream):
    require_binary("nginx")
    datastores.require_server("postgres")
    with shared_datastore_nodes(tmp_path_factory, "postgres") as (a, b):
        _setup(a, echo_upstream.url)
        a.wait_sync()
        b.wait_sync()
        resp = _token(a)
        assert resp.status_code == 200, resp.text + a.error_log_tail()
        first = resp.json()
        assert _status(a, first["access_token"]) == 200
        _eventually(b, first["access_token"], 200, 2.0)
        resp = _token(b, grant_type="refresh_token", refresh_token=first["refresh_token"])
        assert resp.status_code == 200, resp.text
        second = resp.json()
        assert _status(b, second["access_token"]) == 200
        assert _status(b, first["access_token"]) == 401
        _eventually(a, first["access_token"], 401, 1.0)
        _eventually(a, second["access_token"], 200, 1.0)
        # revoked on one node's Admin API: refused by both within a second
        admin(a).delete(f"/oauth2_tokens/{second['access_token']}")
        _eventually(a, second["access_token"], 401, 1.0)
        _eventually(b, second["access_token"], 401, 1.0)


def test_datastore_down_answers_500_and_stores_nothing(tmp_path, echo_upstream):
    require_binary("nginx")
    datastores.require_server("postgres")
    server = OwnPostgres("oauth2").start()
    node = Gateway(tmp_path, workers=1, extra=datastores.as_conf(server.settings(2000)))
    try:
        node.start()
        _setup(node, echo_upstream.url)
        node.wait_sync()
        with server.frozen():
            resp = _token(node)
            assert (resp.status_code, resp.json()) == (
                500, {"message": "An unexpected error occurred"})
        # once the datastore answers again (the node fails fast meanwhile)
        deadline = time.monotonic() + 15
        resp = _token(node)
        while resp.status_code == 500 and time.monotonic() < deadline:
            time.sleep(0.5)
            resp = _token(node)
        assert resp.status_code == 200, resp.text + node.error_log_tail(60)
        assert [t["access_token"] for t in admin(node).get("/oauth2_tokens")["data"]] \
            == [resp.json()["access_token"]]
        assert _status(node, resp.json()["access_token"]) == 200
    finally:
        node.stop()
        server.stop()


def test_http_from_a_trusted_proxy_that_terminated_tls(start_node, echo_upstream):
    node = start_node(workers=1, trusted_ips="127.0.0.1")
    _setup(node, echo_upstream.url)
    plugin = admin(node).get("/plugins")["data"][0]
    url = node.proxy + "/api/oauth2/token"
    data = {"grant_type": "password", "provision_key": "pk", "authenticated_userid": "u1",
            "client_id": "cid", "client_secret": "csecret"}
    node.wait_sync()
    assert requests.post(url, data=data, headers={"X-Forwarded-Proto": "https"},
                         timeout=10).json()["error"] == "access_denied"
    admin(node).patch(f"/plugins/{plugin['id']}", {"config": {
        "accept_http_if_already_terminated": True}})
    node.wait_sync()
    resp = requests.post(url, data=data, headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert requests.post(url, data=data, timeout=10).json()["error_description"] == \
        "You must use HTTPS"
    conn = http.client.HTTPConnection("127.0.0.1", node.ports["proxy"], timeout=10)
    body = urlencode(data)
    conn.putrequest("POST", "/api/oauth2/token")
    for name, value in (("Content-Type", "application/x-www-form-urlencoded"),
                        ("Content-Length", str(len(body))), ("X-Forwarded-Proto", "https"),
                        ("X-Forwarded-Proto", "https")):
        conn.putheader(name, value)
    conn.endheaders(body.encode())
    twice = json.loads(conn.getresponse().read())
    conn.close()
    assert twice == {"error": "access_denied",
                     "error_description": "Only one X-Forwarded-Proto header allowed"}
