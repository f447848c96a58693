"""The stream subset file (<prefix>/config/stream.json) follows Admin API writes."""
from __future__ import annotations

import json
import time

import pytest

from kongpy import conf as kconf, paths
from kongpy.render import context as render_context
from tests.conftest import IN_CI, require_binary
from tests.helpers.gateway import Gateway
from tests.helpers.servers import free_port


def require_stream_module() -> None:
    module = paths.stream_module()
    if not module.is_file():
        message = f"the stream module {module} is not built (run scripts/setup.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def stream_node(tmp_path):
    require_binary("nginx")
    require_stream_module()
    gw = Gateway(tmp_path, workers=1,
                 extra={"stream_listen": f"127.0.0.1:{free_port()}"}).start()
    yield gw
    gw.stop()


def _read(path):
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _wait_version(gw: Gateway, path, timeout: float = 5.0) -> dict:
    wanted = gw.db_version()
    deadline = time.monotonic() + timeout
    doc = None
    while time.monotonic() < deadline:
        doc = _read(path)
        if doc and doc["version"] == wanted:
            return doc
        time.sleep(0.02)
    raise AssertionError(f"{path} did not reach version {wanted}: {doc}")


def test_stream_file_follows_admin_api_writes(stream_node):
    gw = stream_node
    path = render_context.stream_snapshot_target(kconf.load(str(gw.conf_path), env={}))[0]
    first = _wait_version(gw, path)
    assert first["stream_format"] == 1 and first["routes"] == []
    service = gw.create("/services", {"name": "echo", "host": "127.0.0.1", "port": 9,
                                      "protocol": "tcp"})
    route = gw.create("/services/echo/routes", {"protocols": ["tcp"],
                                                "destinations": [{"port": 9000}]})
    gw.create("/services/echo/routes", {"paths": ["/web"], "protocols": ["http"]})
    doc = _wait_version(gw, path)
    assert [r["id"] for r in doc["routes"]] == [route["id"]]
    assert [s["id"] for s in doc["services"]] == [service["id"]]
    gw.wait_sync()
    assert _read(path)["version"] == gw.dataplane_config()["version"]
    assert gw.cli("stop", "-p", str(gw.prefix)).returncode == 0
    # a restart writes it from the datastore; without stream listeners it goes
    gw.settings["stream_listen"] = "off"
    gw.write_conf()
    gw.start()
    assert not path.exists()
