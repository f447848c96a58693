"""A DB-less node (``database = off``) on real nginx: it serves its
``declarative_config``, ``POST /config`` swaps the whole configuration under
load without a failed request, an invalid one changes nothing, and the last
configuration applied survives a restart."""
from __future__ import annotations

import threading

import requests

from tests.conftest import require_binary
from tests.helpers.gateway import Gateway


def _doc(echo_url: str, *paths: str) -> str:
    routes = "".join(f"""
  - name: r{i}
    paths: ["{p}"]""" for i, p in enumerate(paths))
    return f"""_format_version: "3.0"
services:
- name: dl-svc
  url: {echo_url}
  routes:{routes}
"""


class _Load(threading.Thread):
    """Requests to ``url`` until stopped; every answer that is not 200 is kept."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped, self.sent, self.failed = url, threading.Event(), 0, []

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopped.is_set():
                try:
                    status = session.get(self.url, timeout=10).status_code
                except requests.RequestException as exc:
                    status = repr(exc)
                self.sent += 1
                if status != 200:
                    self.failed.append(status)


def test_dbless_node_serves_and_swaps_its_configuration(tmp_path, echo):
    require_binary("nginx")
    kong_yml = tmp_path / "kong.yml"
    kong_yml.write_text(_doc(echo.url, "/dl1"))
    gw = Gateway(tmp_path, workers=2,
                 extra={"database": "off", "declarative_config": str(kong_yml)})
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        assert requests.get(gw.proxy + "/dl1", timeout=10).status_code == 200
        assert requests.get(gw.proxy + "/dl2", timeout=10).status_code == 404
        refused = gw.post("/services", json={"name": "x", "url": "http://x"})
        assert refused.status_code == 405
        assert refused.json()["message"] == ("cannot create 'services' entities when not "
                                             "using a database")

        load = _Load(gw.proxy + "/dl1")
        load.start()
        try:
            for round_ in range(5):
                paths = ("/dl1", "/dl2") if round_ % 2 == 0 else ("/dl1",)
                resp = gw.post("/config", data={"config": _doc(echo.url, *paths)})
                assert resp.status_code == 201, resp.text
                gw.wait_sync()
                expected = 200 if "/dl2" in paths else 404
                assert requests.get(gw.proxy + "/dl2", timeout=10).status_code == expected
        finally:
            load.stopped.set()
            load.join(timeout=30)
        assert load.sent > 20 and load.failed == []

        bad = gw.post("/config", data={"config": _doc(echo.url, "/dl3") + "  foo: 1\n"})
        assert bad.status_code == 400 and bad.json()["code"] == 14
        assert requests.get(gw.proxy + "/dl2", timeout=10).status_code == 200
        assert requests.get(gw.proxy + "/dl3", timeout=10).status_code == 404

        exported = requests.get(gw.admin + "/config", timeout=10).json()["config"]
        assert "/dl2" in exported and "/dl3" not in exported
    finally:
        gw.stop()

    # Without declarative_config, a restart serves what POST /config applied last.
    del gw.settings["declarative_config"]
    gw.write_conf()
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        assert requests.get(gw.proxy + "/dl2", timeout=10).status_code == 200
        routes = requests.get(gw.admin + "/routes", timeout=10).json()["data"]
        assert sorted(r["name"] for r in routes) == ["r0", "r1"]
    finally:
        gw.stop()

    # With it, the file wins again at start.
    gw.settings["declarative_config"] = str(kong_yml)
    gw.write_conf()
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        assert requests.get(gw.proxy + "/dl1", timeout=10).status_code == 200
        assert requests.get(gw.proxy + "/dl2", timeout=10).status_code == 404
        # and at a reload, as Kong's master reads it again in init
        kong_yml.write_text(_doc(echo.url, "/dl4"))
        gw.cli("reload", "-c", str(gw.conf_path), "-p", str(gw.prefix))
        gw.wait_sync()
        assert requests.get(gw.proxy + "/dl4", timeout=10).status_code == 200
        assert requests.get(gw.proxy + "/dl1", timeout=10).status_code == 404
        status = requests.get(gw.admin + "/status", timeout=10).json()
        assert len(status["configuration_hash"]) == 32
        gw.assert_clean_error_log()
    finally:
        gw.stop()


def test_dbless_history_and_rollback(tmp_path, echo):
    require_binary("nginx")
    kong_yml = tmp_path / "kong.yml"
    kong_yml.write_text(_doc(echo.url, "/h1"))
    gw = Gateway(tmp_path, workers=1,
                 extra={"database": "off", "declarative_config": str(kong_yml)})
    gw.cli("start", "-c", str(gw.conf_path), "-p", str(gw.prefix))
    try:
        first = requests.get(gw.admin + "/config/history", timeout=10).json()["data"]
        assert first, "the configuration loaded at start is a version"
        loaded = gw.post("/config", data={"config": _doc(echo.url, "/h2")})
        assert loaded.status_code == 201, loaded.text
        versions = requests.get(gw.admin + "/config/history", timeout=10).json()["data"]
        assert versions[0]["version"] > first[0]["version"]
        gw.wait_sync()
        assert requests.get(gw.proxy + "/h2", timeout=10).status_code == 200
        back = gw.post(f"/config/rollback/{first[0]['version']}")
        assert back.status_code == 201, back.text
        gw.wait_sync()
        assert requests.get(gw.proxy + "/h1", timeout=10).status_code == 200
        assert requests.get(gw.proxy + "/h2", timeout=10).status_code == 404
    finally:
        gw.stop()
