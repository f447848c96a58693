"""The node's own defences: the plugin set, the control socket, file modes,
unprivileged workers and a supervisor killed outright.

Items about other local users run their probes as `nobody`.
"""
from __future__ import annotations

import json
import os
import pwd
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from kongpy import conf as kconf
from kongpy import db as kdb
from kongpy.supervisor import pidfile
from kongpy.sync import snapshot
from tests.conftest import IN_CI, require_binary
from tests.helpers import datastores
from tests.helpers.gateway import Gateway, control_request
from tests.helpers.servers import free_port

FIXTURE_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "plugins"
KEY_AUTH_OFF = "Error: key-auth plugin is in use but not enabled"
# probes run as another user: Debian's interpreter, not a virtualenv's that
# may live under a folder only root can read
SYSTEM_PYTHON = "/usr/bin/python3"


def _as_root() -> None:
    if os.geteuid() == 0:
        return
    message = "these checks start the node as root and probe it as another user"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _keyauth_route(gw: Gateway, upstream) -> None:
    gw.create("/services", {"name": "guarded", "url": upstream.url})
    gw.create("/services/guarded/routes", {"paths": ["/guarded"]})
    gw.create("/services/guarded/plugins", {"name": "key-auth"})
    gw.wait_sync()


def _status(gw: Gateway, path: str = "/guarded") -> int:
    return requests.get(gw.proxy + path, timeout=5).status_code


def _worker_pids(gw: Gateway) -> list[int]:
    return sorted(w["pid"] for w in gw.dataplane_config()["workers"])


def _set(gw: Gateway, **settings: str) -> None:
    gw.settings.update(settings)
    gw.write_conf()


# -- 1. the plugin set -------------------------------------------------------------


def test_restart_and_reload_refuse_a_plugin_set_without_a_plugin_in_use(node, upstream):
    _keyauth_route(node, upstream)
    assert _status(node) == 401
    workers = _worker_pids(node)
    _set(node, plugins="cors")

    proc = node.cli("restart", "-c", str(node.conf_path), check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == KEY_AUTH_OFF, proc.stderr
    proc = node.cli("reload", "-c", str(node.conf_path), check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == KEY_AUTH_OFF, proc.stderr
    # the running node was not touched: same workers, still authenticating
    assert _worker_pids(node) == workers
    assert _status(node) == 401

    node.stop()
    proc = node.cli("start", "-c", str(node.conf_path), check=False)
    assert proc.returncode == 1 and proc.stderr.strip() == KEY_AUTH_OFF, proc.stderr
    with pytest.raises(requests.ConnectionError):
        requests.get(node.proxy + "/guarded", timeout=2)

    # enabled again: the node starts from the datastore, not from the kept file
    _set(node, plugins="bundled")
    node.cli("start", "-c", str(node.conf_path))
    assert _status(node) == 401


def test_a_plugin_the_node_does_not_run_refuses_its_requests(tmp_path, upstream):
    """An instance of a plugin this node lacks (written by a node that has it)."""
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=2, extra={"plugins": "cors"}).start()
    try:
        gw.create("/services", {"name": "svc", "url": upstream.url})
        route = gw.create("/services/svc/routes", {"paths": ["/guarded"]})
        gw.create("/services/svc/routes", {"paths": ["/open"]})
        gw.wait_sync()
        assert _status(gw) == 200
        # another node, with key-auth enabled, configures it on the shared datastore
        other = kconf.load(str(gw.conf_path), env={}, overrides={"plugins": "bundled"})
        database = kdb.open(other)
        try:
            database.plugins.insert({"name": "key-auth", "route": {"id": route["id"]}})
        finally:
            database.close()
        gw.wait_sync()
        resp = requests.get(gw.proxy + "/guarded", headers={"Accept": "application/json"},
                            timeout=5)
        assert resp.status_code == 500
        assert resp.json()["message"] == "An unexpected error occurred"
        assert {_status(gw) for _ in range(10)} == {500}
        assert _status(gw, "/open") == 200
        log = (gw.prefix / "logs" / "error.log").read_text()
        assert "key-auth plugin is in use but not enabled on this node" in log
    finally:
        gw.stop()


def test_reload_always_reloads_nginx_and_picks_up_new_plugins(node, upstream):
    node.proxied("svc", upstream.url, "/tagged")
    workers = _worker_pids(node)
    node.cli("reload", "-c", str(node.conf_path))  # nothing changed in the conf
    _wait_new_workers(node, workers)

    _set(node, plugins="bundled, test-tag", plugins_path=str(FIXTURE_PLUGINS))
    workers = _worker_pids(node)
    node.cli("reload", "-c", str(node.conf_path))
    # until they exit, the workers of before the reload may still take a
    # connection, and they refuse (500) the instance of a plugin they lack
    _wait_new_workers(node, workers)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        resp = node.post("/services/svc/plugins", json={"name": "test-tag",
                                                        "config": {"tag": "new"}})
        if resp.status_code == 201:
            break
        time.sleep(0.1)
    assert resp.status_code == 201, resp.text
    node.wait_sync()
    resp = requests.get(node.proxy + "/tagged", timeout=5)
    assert resp.headers.get("X-Test-Tag") == "new", node.error_log_tail(60)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_new_workers(gw: Gateway, old: list[int], timeout: float = 10) -> None:
    """Until the workers of before the reload have exited: until then one of
    them may still take a connection or a control request (the data plane's
    worker list shows only the newest worker of each slot)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = _worker_pids(gw)
        if not set(current) & set(old) and all(current) and not any(map(_alive, old)):
            return
        time.sleep(0.05)
    raise AssertionError(f"nginx did not reload: workers {old} still serve")


def test_kept_snapshot_is_served_only_for_the_same_plugins_and_code(tmp_path, upstream):
    require_binary("nginx")
    gw = Gateway(tmp_path, workers=1).start()
    try:
        gw.proxied("kept", upstream.url, "/kept")
    finally:
        gw.stop()
    kept = gw.prefix / "config" / "snapshot.jsonl"
    doc, body = snapshot.read(kept)
    assert doc["built_for"]["plugins"] == sorted(doc["built_for"]["plugins"])
    assert "key-auth" in doc["built_for"]["plugins"]

    # the datastore is unreachable from now on
    _set(gw, **datastores.as_conf({**datastores.pg_settings(), "pg_port": free_port(),
                                   "pg_timeout": 1000}))
    _set(gw, plugins="cors")
    proc = gw.cli("start", "-c", str(gw.conf_path), check=False)
    assert proc.returncode == 1
    assert "was built for another plugin set" in proc.stderr, proc.stderr

    _set(gw, plugins="bundled")
    doc["built_for"]["code"] = "0" * 64
    kept.write_bytes(snapshot.frame(doc, snapshot.encode(body)))
    proc = gw.cli("start", "-c", str(gw.conf_path), check=False)
    assert proc.returncode == 1 and "was built for another code" in proc.stderr, proc.stderr


# -- 2. the control socket ---------------------------------------------------------


def _as_nobody(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([SYSTEM_PYTHON, "-c", code], user="nobody", group="nogroup",
                          capture_output=True, text=True, timeout=30, cwd="/")


def test_other_users_cannot_reach_the_control_or_sync_sockets(node):
    _as_root()
    sockets = node.prefix / "sockets"
    assert stat.S_IMODE(sockets.stat().st_mode) == 0o700
    for name in ("control.sock", "sync.sock", "control.token"):
        assert stat.S_IMODE((sockets / name).stat().st_mode) == 0o600, name
    probe = (
        "import socket, sys\n"
        f"for path, kind in (({str(sockets / 'control.sock')!r}, socket.SOCK_STREAM),\n"
        f"                   ({str(sockets / 'sync.sock')!r}, socket.SOCK_DGRAM)):\n"
        "    s = socket.socket(socket.AF_UNIX, kind)\n"
        "    try:\n"
        "        s.connect(path)\n"
        "    except PermissionError:\n"
        "        continue\n"
        "    sys.exit('connected to ' + path)\n"
        "print('refused')\n")
    proc = _as_nobody(probe)
    assert proc.returncode == 0 and proc.stdout.strip() == "refused", proc.stdout + proc.stderr


def test_the_write_channel_is_the_workers_and_needs_the_node_secret(node):
    """The workers (nobody) may connect to the write channel; without the
    node's secret nothing is written (docs/contracts.md §9)."""
    _as_root()
    path = json.loads(node.prefix.joinpath("settings.json").read_text())["write_socket"]
    info = os.stat(path)
    assert stat.S_IMODE(info.st_mode) == 0o660 and info.st_uid == 0
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) & 0o007 == 0
    probe = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"s.connect({path!r})\n"
        "s.sendall(b'POST /rows/oauth2_tokens HTTP/1.1\\r\\nHost: x\\r\\n'\n"
        "          b'Authorization: Bearer ' + b'00' * 32 + b'\\r\\n'\n"
        "          b'Content-Length: 2\\r\\n\\r\\n{}')\n"
        "print(s.recv(100).split(b'\\r\\n')[0].decode())\n")
    # as the workers: their user and group
    proc = subprocess.run([SYSTEM_PYTHON, "-c", probe], user="nobody", group=info.st_gid,
                          capture_output=True, text=True, timeout=30, cwd="/")
    assert proc.stdout.strip() == "HTTP/1.1 401 Unauthorized", proc.stdout + proc.stderr


def test_the_control_socket_needs_the_node_secret(node, upstream):
    node.proxied("svc", upstream.url, "/svc")
    version = node.wait_sync()
    empty = snapshot.frame({"version": version + 100, "hash": "0" * 64},
                           snapshot.encode({"services": [], "routes": []}))
    for token in ("", "00" * 32):
        status, body = control_request(node.prefix, "POST", "/snapshot", empty, token=token)
        assert status == 401, body
        status, _ = control_request(node.prefix, "GET", "/snapshot", token=token)
        assert status == 401
    assert node.dataplane_config()["version"] == version
    assert _status(node, "/svc") == 200
    # a restart makes a new secret
    old = (node.prefix / "sockets" / "control.token").read_text()
    node.cli("restart", "-c", str(node.conf_path))
    assert (node.prefix / "sockets" / "control.token").read_text() != old
    status, _ = control_request(node.prefix, "GET", "/snapshot", token=old)
    assert status == 401


# -- 3. files under the prefix -----------------------------------------------------


def _exposed(prefix: Path) -> list[str]:
    found = []
    for path in [prefix, *prefix.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o007 or (path.is_file() and mode & 0o020):
            found.append(f"{path} {oct(mode)}")
    return found


def test_nothing_under_the_prefix_is_readable_by_other_users(node, upstream):
    _as_root()
    node.proxied("svc", upstream.url, "/svc")
    bob = node.create("/consumers", {"username": "bob"})
    node.create(f"/consumers/{bob['id']}/key-auth", {"key": "sekrit-key"})
    node.wait_sync()
    assert _status(node, "/svc") == 200
    # a rotated log is created anew by nginx's reopen
    log = node.prefix / "logs" / "access.log"
    log.rename(log.with_name("access.log.1"))
    os.kill(pidfile.read(node.prefix / "pids" / "nginx.pid"), signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.exists()
    assert _exposed(node.prefix) == []
    secrets = [node.prefix / "config" / "snapshot.jsonl", node.prefix / "kongpy.db",
               node.prefix / ".kongpy_env", log]
    probe = ("import sys\nfor path in sys.argv[1:]:\n"
             "    try:\n        open(path).read(1)\n    except PermissionError:\n"
             "        continue\n    sys.exit('read ' + path)\nprint('refused')\n")
    proc = subprocess.run([SYSTEM_PYTHON, "-c", probe, *map(str, secrets)], user="nobody",
                          group="nogroup", capture_output=True, text=True, timeout=30, cwd="/")
    assert proc.stdout.strip() == "refused", proc.stdout + proc.stderr
    assert "sekrit-key" in (node.prefix / "config" / "snapshot.jsonl").read_text()


# -- 4. unprivileged workers ------------------------------------------------------


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def test_workers_run_as_the_runtime_user_and_still_buffer_to_disk(node, upstream):
    _as_root()
    runtime = pwd.getpwnam("kongpy")
    assert "user kongpy kongpy;" in (node.prefix / "nginx.conf").read_text()
    workers = _worker_pids(node)
    assert workers and {_uid(pid) for pid in workers} == {runtime.pw_uid}
    master = pidfile.read(node.prefix / "pids" / "nginx.pid")
    assert _uid(master) == 0
    node.proxied("svc", upstream.url, "/svc")
    # bodies beyond the in-memory buffers go through the workers' temp folders
    body = b"x" * (2 * 1024 * 1024)
    resp = requests.post(node.proxy + "/svc", data=body, timeout=10)
    assert resp.status_code == 200 and len(resp.json()["body"]) == len(body)
    # the workers cannot read the prefix's secrets
    assert runtime.pw_gid != (node.prefix / "config").stat().st_gid


# -- 7. a supervisor killed outright ---------------------------------------------------


def _gone(pids: list[int], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pidfile.alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_a_killed_supervisor_takes_its_children_and_start_recovers(node, upstream):
    node.proxied("svc", upstream.url, "/before")
    supervisor = pidfile.read(node.prefix / "pids" / "supervisor.pid")
    children = [pidfile.read(node.prefix / "pids" / "nginx.pid"),
                pidfile.read(node.prefix / "pids" / "admin.pid")]
    os.kill(supervisor, signal.SIGKILL)
    assert _gone([supervisor] + children), "nginx or the Admin API outlived the supervisor"

    # the configuration changed meanwhile (through the datastore)
    database = kdb.open(kconf.load(str(node.conf_path), env={}))
    try:
        svc = database.services.select_by("name", "svc")
        database.routes.insert({"paths": ["/after"], "service": {"id": svc["id"]}})
    finally:
        database.close()
    node.cli("start", "-c", str(node.conf_path))
    assert _status(node, "/after") == 200
    assert node.cli("health", "-p", str(node.prefix)).returncode == 0


def test_start_and_stop_clear_processes_a_pid_file_names(node, upstream):
    node.proxied("svc", upstream.url, "/svc")
    node.stop()
    # an nginx of the prefix left running without its supervisor
    stray = subprocess.Popen(["nginx", "-p", f"{node.prefix}/", "-c",
                              str(node.prefix / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_pid_file(node.prefix / "pids" / "nginx.pid", stray.pid)
        proc = node.cli("stop", "-p", str(node.prefix), check=False)
        assert proc.returncode == 0, proc.stderr
        assert stray.wait(timeout=15) is not None

        stray = subprocess.Popen(["nginx", "-p", f"{node.prefix}/", "-c",
                                  str(node.prefix / "nginx.conf"), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_pid_file(node.prefix / "pids" / "nginx.pid", stray.pid)
        node.cli("start", "-c", str(node.conf_path))
        assert stray.wait(timeout=15) is not None
        assert _status(node, "/svc") == 200
    finally:
        if stray.poll() is None:
            stray.kill()


def _wait_pid_file(path: Path, pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while pidfile.read(path) != pid:
        assert time.monotonic() < deadline, "nginx did not write its pid file"
        time.sleep(0.05)
