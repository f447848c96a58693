"""The node's life: restart from the kept snapshot, respawn, reload, stop."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time

import requests

from kongpy.sync import snapshot
from tests.conftest import require_binary
from tests.helpers.gateway import Gateway, control_request


def _wait_status(url: str, status: int, timeout: float = 10.0, **kwargs) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=2, **kwargs)
            if last.status_code == status:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status}: {last}")


def test_bare_nginx_serves_the_kept_snapshot(node, upstream):
    node.create("/services", {"name": "kept", "url": upstream.url})
    node.create("/services/kept/routes", {"paths": ["/kept"]})
    node.wait_sync()
    _, kept = snapshot.read(node.prefix / "config" / "snapshot.jsonl")
    assert any(r["paths"] == ["/kept"] for r in kept["routes"])
    node.stop()

    # nginx alone, with no control plane and no datastore behind it.
    proc = subprocess.Popen(
        ["nginx", "-p", str(node.prefix), "-c", str(node.prefix / "nginx.conf"),
         "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        resp = _wait_status(node.proxy + "/kept", 200)
        assert resp.json()["path"] == "/"
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=10)


def test_invalid_snapshot_is_refused_and_old_one_keeps_serving(node, upstream):
    node.create("/services", {"name": "good", "url": upstream.url})
    node.create("/services/good/routes", {"paths": ["/good"]})
    version = node.wait_sync()
    header, body = snapshot.read(node.prefix / "config" / "snapshot.jsonl")

    bad = dict(body, routes=[dict(body["routes"][0], paths=["~/(unclosed"])])
    # without the header's `pieces`: their digests are the good body's, and a
    # worker that holds pieces with those digests keeps them unread
    whole = {k: v for k, v in header.items() if k != "pieces"}
    blob = snapshot.frame(dict(whole, version=version + 1000), snapshot.encode(bad))
    status, answer = control_request(node.prefix, "POST", "/snapshot", blob)
    assert status == 400, answer
    status, answer = control_request(node.prefix, "POST", "/snapshot", b"{not json")
    assert status == 400, answer
    wrong_format = snapshot.encode(dict(header, snapshot_format=999, version=version + 1001))
    status, answer = control_request(node.prefix, "POST", "/snapshot",
                                     wrong_format + b"\n" + snapshot.encode(body))
    assert status == 400, answer

    assert node.dataplane_config()["version"] == version
    assert requests.get(node.proxy + "/good", timeout=5).status_code == 200


def test_supervisor_restarts_a_dead_nginx(node, upstream):
    node.create("/services", {"name": "phoenix", "url": upstream.url})
    node.create("/services/phoenix/routes", {"paths": ["/phoenix"]})
    node.wait_sync()
    pid = int((node.prefix / "pids" / "nginx.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    # The killed master's workers may answer a last request or two before the
    # supervisor retires them; wait for the new master itself.
    pid_file = node.prefix / "pids" / "nginx.pid"
    deadline = time.monotonic() + 15
    new_pid = pid
    while time.monotonic() < deadline:
        try:
            new_pid = int(pid_file.read_text())
        except (OSError, ValueError):
            pass
        if new_pid != pid:
            break
        time.sleep(0.05)
    assert new_pid != pid, "nginx was not restarted"
    _wait_status(node.proxy + "/phoenix", 200, timeout=15)


def test_reload_applies_good_conf_and_refuses_bad_conf(node, upstream):
    node.create("/services", {"name": "rl", "url": upstream.url})
    node.create("/services/rl/routes", {"paths": ["/rl"]})
    node.wait_sync()

    node.settings["nginx_proxy_add_header"] = "X-Reloaded yes"
    node.write_conf()
    node.cli("reload", "-c", str(node.conf_path), "-p", str(node.prefix))
    resp = _wait_status(node.proxy + "/rl", 200)
    deadline = time.monotonic() + 10
    while resp.headers.get("X-Reloaded") != "yes" and time.monotonic() < deadline:
        time.sleep(0.1)
        resp = requests.get(node.proxy + "/rl", timeout=5)
    assert resp.headers.get("X-Reloaded") == "yes"

    before = (node.prefix / "nginx.conf").read_text()
    node.settings["nginx_http_no_such_directive"] = "on"
    node.write_conf()
    proc = node.cli("reload", "-c", str(node.conf_path), "-p", str(node.prefix), check=False)
    assert proc.returncode != 0
    assert "Error:" in proc.stderr + proc.stdout
    assert (node.prefix / "nginx.conf").read_text() == before
    assert requests.get(node.proxy + "/rl", timeout=5).status_code == 200


def test_port_in_use_gives_clear_error(tmp_path):
    require_binary("nginx")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        gw = Gateway(tmp_path)
        gw.settings["proxy_listen"] = f"127.0.0.1:{busy.getsockname()[1]}"
        gw.write_conf()
        gw.cli("migrations", "bootstrap", "-c", str(gw.conf_path))
        proc = gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix), check=False)
        assert proc.returncode != 0
        output = proc.stdout + proc.stderr
        assert "Error:" in output and "address already in use" in output
        assert "Traceback" not in output
    finally:
        busy.close()


def test_stop_lets_in_flight_requests_finish(node, upstream):
    node.create("/services", {"name": "inflight", "url": upstream.url})
    node.create("/services/inflight/routes", {"paths": ["/inflight"]})
    node.wait_sync()
    result: dict = {}

    def slow() -> None:
        try:
            result["resp"] = requests.get(node.proxy + "/inflight?delay=1.5", timeout=10)
        except requests.RequestException as exc:
            result["error"] = exc

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    node.cli("stop", "-p", str(node.prefix), "--timeout", "10")
    thread.join(timeout=15)
    assert "error" not in result, result
    assert result["resp"].status_code == 200
    proc = node.cli("health", "-p", str(node.prefix), check=False)
    assert proc.returncode != 0
