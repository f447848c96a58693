"""What an operator meets: start bootstraps a fresh SQLite file and runs
migrations on request, restart never takes a running node down for a bad
configuration, nginx's errors cite a file that exists, and a node opens no
control socket for its Admin API server."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway


@pytest.fixture
def fresh(tmp_path):
    """A node's files, not started, with no datastore bootstrapped yet."""
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=1)
    yield gw
    gw.stop()


def _start(gw: Gateway, *args: str, check: bool = True):
    return gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix), *args, check=check)


def test_start_bootstraps_a_fresh_sqlite_file(fresh):
    out = _start(fresh).stdout
    assert re.search(r"^\d+ migrations processed$", out, re.M), out
    assert requests.get(fresh.admin + "/status", timeout=5).status_code == 200
    listed = fresh.cli("migrations", "list", "-c", str(fresh.conf_path)).stdout
    assert "000_base" in listed


def test_start_refuses_a_fresh_postgres_without_run_migrations(fresh, tmp_path):
    settings = datastores.isolated("postgres", tmp_path)
    try:
        fresh.settings.update(datastores.as_conf(settings))
        fresh.write_conf()
        refused = _start(fresh, check=False)
        assert refused.returncode == 1
        assert "kongpy migrations bootstrap" in refused.stderr
        out = _start(fresh, "--run-migrations").stdout
        assert re.search(r"^\d+ migrations processed$", out, re.M), out
        assert requests.get(fresh.admin + "/services", timeout=5).status_code == 200
    finally:
        fresh.stop()
        datastores.drop(settings)


def _proxy_ok(gw: Gateway) -> bool:
    # no route: the node itself answers 404, which proves it serves
    return requests.get(gw.proxy + "/", timeout=5).status_code == 404


def test_restart_with_a_bad_configuration_leaves_the_node_running(node):
    good = dict(node.settings)
    node.settings["proxy_listen"] = "nonsense"
    node.write_conf()
    proc = node.cli("restart", "-c", str(node.conf_path), "-p", str(node.prefix), check=False)
    assert proc.returncode == 1 and "proxy_listen" in proc.stderr
    assert _proxy_ok(node)

    node.settings = {**good, "nginx_http_no_such_directive": "on"}
    node.write_conf()
    proc = node.cli("restart", "-c", str(node.conf_path), "-p", str(node.prefix), check=False)
    assert proc.returncode == 1
    assert _proxy_ok(node)
    # nginx's words cite a file the operator can open
    cited = re.search(r"in (/\S+?):(\d+)", proc.stderr)
    assert cited, proc.stderr
    assert Path(cited.group(1)) == node.prefix / "nginx.conf.rejected"
    lines = Path(cited.group(1)).read_text().splitlines()
    assert "no_such_directive" in lines[int(cited.group(2)) - 1]


def _unix_socket_paths(pid: int) -> set[str]:
    """The paths of the unix sockets a process holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    paths = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 8 and parts[6] in inodes:
            paths.add(parts[7])
    return paths


def test_the_admin_server_opens_no_control_socket(node):
    """gunicorn's control socket defaults to one path per user, which every
    node would share: none is opened."""
    assert requests.get(node.admin + "/status", timeout=5).status_code == 200
    admin = int((node.prefix / "pids" / "admin.pid").read_text())
    children = Path(f"/proc/{admin}/task/{admin}/children").read_text().split()
    held = set().union(*(_unix_socket_paths(pid) for pid in [admin, *map(int, children)]))
    assert not [p for p in held if "gunicorn" in p], held


def test_reset_refuses_while_the_node_runs(node):
    proc = node.cli("migrations", "reset", "-y", "-c", str(node.conf_path), "-p",
                    str(node.prefix), check=False)
    assert proc.returncode == 1
    assert f"the node in {node.prefix} is running on this datastore" in proc.stderr
    assert requests.get(node.admin + "/services", timeout=5).status_code == 200


def test_the_access_log_has_kongs_request_id_upstream_and_latencies(node, upstream):
    log = node.prefix / "logs" / "access.log"
    # the start-up probes left nothing
    assert not log.exists() or log.read_text() == ""
    node.create("/services", {"name": "logged", "url": upstream.url})
    node.create("/services/logged/routes", {"paths": ["/logged"]})
    node.wait_sync()
    resp = requests.get(node.proxy + "/logged/x", timeout=5)
    assert resp.status_code == 200
    request_id = resp.headers["X-Kong-Request-Id"]
    # nginx writes the line once the answer is out: wait for it
    deadline = time.monotonic() + 5
    while not log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = log.read_text().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert '"GET /logged/x HTTP/1.1" 200 ' in line
    assert f'kong_request_id: "{request_id}"' in line
    assert f'upstream: "127.0.0.1:{upstream.port}"' in line
    assert re.search(r'request_time: \d+\.\d{3} upstream_response_time: "\d+\.\d{3}"$', line)


def test_health_and_start_say_where_the_node_listens(node):
    out = node.cli("health", "-p", str(node.prefix)).stdout
    assert out.rstrip().splitlines()[-1] == (
        f"proxy on 127.0.0.1:{node.ports['proxy']}, 127.0.0.1:{node.ports['proxy_ssl']} (ssl); "
        f"Admin API on 127.0.0.1:{node.ports['admin']}")
