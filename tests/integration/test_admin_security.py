"""The Admin API's defences on real nodes: foreign browser origins and host
names refused, token authentication (made and revoked through the CLI, shared
by the nodes of one PostgreSQL), and no unauthenticated Admin API off loopback."""
from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway, shared_datastore_nodes
from tests.helpers.http import admin

UI = "https://ui.example"
EVIL = "https://evil.example"
NO_CREDENTIALS = {"message": "Invalid credentials. Token or User credentials required"}
# Each Admin API worker re-reads the tokens at most every 0.5 s: a new or a
# revoked token counts within a second on every node.
TOKEN_DELAY_LIMIT_S = 1.0


def _with(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Kong-Admin-Token": token}


def _make_token(node: Gateway, name: str, *flags: str) -> str:
    return node.cli("admin", "token", "create", name, *flags,
                    "-c", str(node.conf_path)).stdout.strip()


def _wait_status(node: Gateway, token: str, status: int) -> None:
    """Polls ``GET /services`` with ``token`` until it answers ``status``."""
    started = time.monotonic()
    while True:
        last = admin(node, _with(token)).response("GET", "/services").status_code
        elapsed = time.monotonic() - started
        if last == status:
            return
        assert elapsed < TOKEN_DELAY_LIMIT_S, f"still {last} after {elapsed:.2f}s"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("guarded"), workers=1,
                   extra={"admin_allowed_origins": UI}).start()
    yield node
    node.stop()


def test_cross_origin_post_is_refused_and_creates_nothing(guarded):
    resp = admin(guarded).response("POST", "/services",
                                   {"name": "from-evil", "url": "http://127.0.0.1:9"},
                                   headers={"Origin": EVIL})
    assert resp.status_code == 403 and resp.json() == {"message": "origin not allowed"}
    assert "Access-Control-Allow-Origin" not in resp.headers
    resp = admin(guarded).response("OPTIONS", "/services", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 403
    admin(guarded).get("/services/from-evil", status=404)
    # The refused body is never read, only discarded by gunicorn: the
    # kept-alive connection still serves the next request (gunicorn closes
    # it instead past 64 KiB of unread body).
    with requests.Session() as session:
        resp = session.post(guarded.admin + "/services", data=b"x" * 32_000, timeout=10,
                            headers={"Origin": EVIL, "Content-Type": "application/json"})
        assert resp.status_code == 403
        assert session.get(guarded.admin + "/services", timeout=10).status_code == 200


def test_allowed_origin_may_write(guarded):
    resp = admin(guarded).response("POST", "/services",
                                   {"name": "from-ui", "url": "http://127.0.0.1:9"},
                                   headers={"Origin": UI})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == UI
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in resp.headers["Vary"]


def test_foreign_host_is_refused(guarded):
    resp = admin(guarded).response("GET", "/", headers={"Host": "evil.example"})
    assert resp.status_code == 403 and resp.json() == {"message": "host not allowed"}
    port = guarded.ports["admin"]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        admin(guarded).get("/", headers={"Host": host})


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    require_binary("nginx")
    node = Gateway(tmp_path_factory.mktemp("secured"), workers=1,
                   extra={"admin_auth": "token"})
    # A token made while the node is stopped works once it runs.
    node.cli("migrations", "bootstrap", "-c", str(node.conf_path))
    before = _make_token(node, "made-before-start")
    node.start()
    yield node, before
    node.stop()


def test_token_authentication(secured):
    node, before = secured
    rw = _make_token(node, "deployer")
    ro = _make_token(node, "auditor", "--read-only")
    _wait_status(node, ro, 200)
    for token in (None, "", "not-a-token"):
        assert admin(node, _with(token)).get("/services", status=401) == NO_CREDENTIALS
    admin(node, _with(ro)).get("/services")
    body = admin(node, _with(ro)).post("/services", {"url": "http://127.0.0.1:9"}, status=403)
    assert body == {"message": "auditor, you do not have permissions to create this "
                               "resource"}
    for token in (rw, before):
        admin(node, _with(token)).post("/services", {"url": "http://127.0.0.1:9"})


def test_revoked_token_is_refused_within_a_second(secured):
    node, _before = secured
    token = _make_token(node, "short-lived")
    _wait_status(node, token, 200)
    node.cli("admin", "token", "revoke", "short-lived", "-c", str(node.conf_path))
    _wait_status(node, token, 401)


def test_cluster_rate_limiting_syncs_through_a_secured_admin_api(secured, upstream):
    node, token = secured
    api = admin(node, _with(token))
    service = api.post("/services", {"url": upstream.url})
    route = api.post(f"/services/{service['id']}/routes", {"paths": ["/limited"]})
    api.post(f"/routes/{route['id']}/plugins", {
        "name": "rate-limiting", "config": {"hour": 1000, "policy": "cluster"}})
    node.wait_sync()
    for _ in range(3):
        assert requests.get(node.proxy + "/limited", timeout=5).status_code == 200
    window = int(time.time() // 3600 * 3600 * 1000)
    key = {"identifier": "127.0.0.1", "period": "hour", "period_date": window,
           "service_id": "00000000-0000-0000-0000-000000000000", "route_id": route["id"]}
    deadline = time.monotonic() + 5
    total = None
    # The counts reach the datastore through the node's private channel, not
    # through the token-guarded Admin API.
    while total != 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        total = node.counter("ratelimiting_metrics", key)
    assert total == 3
    assert "cluster policy sync failed" not in node.error_log_tail(200)


@pytest.fixture(scope="module")
def pg_pair(tmp_path_factory):
    require_binary("nginx")
    with shared_datastore_nodes(tmp_path_factory, "postgres", {"admin_auth": "token"}) as nodes:
        yield nodes


def test_token_made_on_one_node_works_on_the_other(pg_pair):
    a, b = pg_pair
    token = _make_token(a, "shared")
    _wait_status(b, token, 200)
    admin(b, _with(token)).post("/services", {"name": "via-b", "url": "http://127.0.0.1:9"})
    admin(a, _with(token)).get("/services/via-b")
    b.cli("admin", "token", "revoke", "shared", "-c", str(b.conf_path))
    _wait_status(a, token, 401)


def test_unauthenticated_admin_api_off_loopback_needs_consent(tmp_path):
    require_binary("nginx")
    node = Gateway(tmp_path, workers=1)
    node.settings["admin_listen"] = f"0.0.0.0:{node.ports['admin']}"
    node.write_conf()
    refused = node.cli("start", "-c", str(node.conf_path), "-p", str(node.prefix),
                       check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: invalid value for 'admin_auth': off is refused "
                                     "while admin_listen has a non-loopback address")
    assert "admin_listen" in refused.stderr and "admin_auth_insecure" in refused.stderr
    node.settings["admin_auth_insecure"] = "on"
    node.write_conf()
    try:
        node.start()
        assert requests.get(node.admin + "/", timeout=10).status_code == 200
    finally:
        node.stop()
