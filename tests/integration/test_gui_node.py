"""The GUI as one of the node's processes: started, checked, reloaded and stopped
with the node, its pages under admin_gui_path, its origin allowed by the Admin API."""
from __future__ import annotations

import time

import pytest
import requests

from kongpy.supervisor import pidfile
from tests.conftest import require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.servers import free_port

pytestmark = pytest.mark.integration


def _wait_answer(url: str, status: int, timeout: float = 15) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=2, allow_redirects=False)
            if last.status_code == status:
                return last
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} (last: {last and last.status_code})")


def test_gui_lifecycle(tmp_path):
    require_binary("nginx")
    port = free_port()
    node = Gateway(tmp_path, workers=1, extra={"admin_gui_listen": f"127.0.0.1:{port}",
                                               "admin_gui_path": "/manager"})
    node.start()
    try:
        gui = f"http://127.0.0.1:{port}"
        # `kongpy start` returned: the GUI already answers
        page = requests.get(gui + "/manager/services/x", timeout=5)
        assert page.status_code == 200 and 'src="/manager/js/app.js"' in page.text
        assert page.headers["X-Frame-Options"] == "sameorigin"
        assert page.headers["Server"].startswith("kongpy/")
        assert requests.get(gui + "/services", timeout=5).status_code == 404
        assert (node.prefix / "logs" / "admin_gui_access.log").read_text().count("GET ") >= 2
        health = node.cli("health", "-p", str(node.prefix)).stdout
        assert "gui.........running" in health and f"GUI on 127.0.0.1:{port}" in health
        assert pidfile.running(node.prefix, "gui") is not None
        # the Admin API lets the GUI's pages call it, and only them
        origin = {"Origin": f"http://localhost:{port}"}
        resp = requests.get(node.admin + "/services", headers=origin, timeout=5)
        assert resp.status_code == 200
        assert resp.headers["Access-Control-Allow-Origin"] == origin["Origin"]
        assert requests.get(node.admin + "/", headers={"Origin": f"http://localhost:{port + 1}"},
                            timeout=5).status_code == 403

        node.settings["admin_gui_path"] = "/kong"
        node.write_conf()
        node.cli("reload", "-c", str(node.conf_path), "-p", str(node.prefix))
        moved = _wait_answer(gui + "/kong", 301)
        assert moved.headers["Location"] == "/kong/"
        assert '"ADMIN_GUI_PATH": "/kong"' in requests.get(gui + "/kong/kconfig.js",
                                                           timeout=5).text
        assert requests.get(gui + "/manager/", timeout=5).status_code == 404

        node.settings["admin_gui_listen"] = "off"
        node.write_conf()
        node.cli("reload", "-c", str(node.conf_path), "-p", str(node.prefix))
        deadline = time.monotonic() + 15
        while pidfile.running(node.prefix, "gui") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pidfile.running(node.prefix, "gui") is None
        with pytest.raises(requests.ConnectionError):
            requests.get(gui + "/kong/", timeout=2)
        assert "gui...." not in node.cli("health", "-p", str(node.prefix)).stdout
    finally:
        node.stop()
    assert not (node.prefix / "pids" / "gui.pid").exists()
