"""The data plane's write channel (docs/contracts.md §9) on real nodes: the
control plane's private socket, its secret, its allow-list, the DAO's
validation and errors, and the rows reaching every node sharing the datastore."""
from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
import requests

from kongpy import paths
from kongpy.sync.push import UnixHTTPConnection
from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import shared_datastore_nodes
from tests.helpers.http import admin


def write(node, method: str, path: str, body=None, token: str | None = None):
    sockets = node.prefix / "sockets"
    conn = UnixHTTPConnection(socket_path(node), timeout=10.0)
    try:
        secret = token if token is not None else (sockets / "control.token").read_text()
        headers = {"Authorization": f"Bearer {secret.strip()}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)
    finally:
        conn.close()


def socket_path(node) -> str:
    """Where the node serves the channel (the data plane's settings say)."""
    return json.loads(paths.prefix(node.prefix).settings_file.read_text())["write_socket"]


def _application(node) -> dict:
    api = admin(node)
    api.post("/consumers", {"username": "writer"})
    return api.post("/consumers/writer/oauth2", {"name": "app",
                                                 "redirect_uris": ["https://app.test/cb"]})


def _check_channel(node) -> None:
    sock = Path(socket_path(node))
    mode = stat.S_IMODE(sock.stat().st_mode)
    # the workers' group may connect when they run as another user
    assert mode == (0o600 if sock.parent == node.prefix / "sockets" else 0o660)
    assert stat.S_IMODE(sock.parent.stat().st_mode) & 0o007 == 0
    app = _application(node)
    cred = {"id": app["id"]}
    assert write(node, "POST", "/rows/oauth2_tokens", {}, token="0" * 64)[0] == 401
    status, body = write(node, "POST", "/rows/consumers", {"username": "nope"})
    assert (status, body["message"]) == (403, "the data plane cannot write 'consumers' entities")
    status, body = write(node, "POST", "/rows/oauth2_credentials", {"name": "x"})
    assert status == 403
    status, body = write(node, "POST", "/rows/oauth2_tokens",
                         {"credential": cred, "expires_in": "soon"})
    assert status == 400 and body["name"] == "schema violation"
    assert body["fields"]["expires_in"] == "expected an integer"
    status, body = write(node, "POST", "/rows/oauth2_tokens",
                         {"credential": cred, "expires_in": 7200, "ttl": 600,
                          "refresh_token": "r-1", "scope": "email"})
    assert status == 201, body
    row = body["row"]
    assert len(row["access_token"]) == 32 and row["refresh_token"] == "r-1"
    assert row["credential"] == cred and row["token_type"] == "bearer"
    assert 0 < row["expires_at"] - time.time() <= 600
    assert body["version"] >= 1 and body["old"] is None
    status, dup = write(node, "POST", "/rows/oauth2_tokens",
                        {"credential": cred, "expires_in": 1, "refresh_token": "r-1"})
    assert status == 409 and dup["name"] == "unique constraint violation"
    status, body = write(node, "PATCH", f"/rows/oauth2_tokens/{row['id']}",
                         {"access_token": "renewed"})
    assert status == 200 and body["row"]["access_token"] == "renewed"
    assert body["old"]["access_token"] == row["access_token"]
    # durable before the answer: the Admin API reads it from the datastore
    seen = admin(node).get("/oauth2_tokens/renewed")
    assert seen["id"] == row["id"] and seen["scope"] == "email"
    status, body = write(node, "DELETE", f"/rows/oauth2_tokens/{row['id']}")
    assert status == 200 and body["row"]["id"] == row["id"]
    admin(node).get("/oauth2_tokens/renewed", status=404)
    assert write(node, "DELETE", f"/rows/oauth2_tokens/{row['id']}")[0] == 200


def test_write_channel_sqlite(start_node):
    _check_channel(start_node(workers=1))


@pytest.mark.parametrize("backend", ["postgres", "cassandra"])
def test_write_channel_shared_datastore(tmp_path_factory, backend):
    require_binary("nginx")
    datastores.require_server(backend)
    with shared_datastore_nodes(tmp_path_factory, backend) as (a, b):
        app = _application(a)
        status, body = write(a, "POST", "/rows/oauth2_tokens",
                             {"credential": {"id": app["id"]}, "expires_in": 60})
        assert status == 201, body
        # the other node's data plane serves a configuration that holds it
        deadline = time.monotonic() + 5
        while b.dataplane_config()["version"] < body["version"] \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.dataplane_config()["version"] >= body["version"]


FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"


def test_kong_db_writes_from_the_data_plane(start_node, upstream):
    """kong.db.<entity> on an allow-listed entity writes through the channel
    (Kong's DAO shape: row, err, err_t); the row is visible to every worker
    at once; other entities still refuse."""
    node = start_node(plugins="bundled, write-probe", plugins_path=str(FIXTURE_PLUGINS))
    app = _application(node)
    node.create("/services", {"name": "svc", "url": upstream.url})
    node.route("/probe", {"name": "write-probe"})
    node.wait_sync()

    def probe(**query):
        resp = requests.get(node.proxy + "/probe", params=query, timeout=10)
        assert resp.status_code == 200, resp.text + node.error_log_tail()
        return resp.json()

    made = probe(op="insert", credential=app["id"], expires_in=60, token="t-1",
                 refresh="r-1", ttl=100)
    assert made["ok"] and made["row"]["access_token"] == "t-1"
    assert "service" not in made["row"]  # JSON nulls left out, as Kong's DAO
    for _ in range(6):  # both workers, before any push could have happened
        assert probe(op="select", token="t-1")["row"]["id"] == made["row"]["id"]
    bad = probe(op="insert", credential=app["id"], expires_in="soon")
    assert not bad["ok"] and bad["err_t"]["name"] == "schema violation"
    dup = probe(op="insert", credential=app["id"], expires_in=1, token="t-1")
    assert dup["err_t"]["code"] == 5
    assert probe(op="update", id=made["row"]["id"], scope="a")["row"]["scope"] == "a"
    assert probe(op="update_by", token="t-1", scope="b")["row"]["scope"] == "b"
    for _ in range(6):
        assert probe(op="select", token="t-1")["row"]["scope"] == "b"
    assert probe(op="delete_by", token="t-1")["ok"]
    for _ in range(6):
        assert probe(op="select", token="t-1").get("row") is None
    assert probe(op="delete", id=made["row"]["id"])["ok"]  # already gone: not an error
    refused = probe(op="forbidden")
    assert refused["err"].endswith(
        "kong.db.consumers:insert: the data plane cannot write to the datastore")
    admin(node).get("/oauth2_tokens/t-1", status=404)
