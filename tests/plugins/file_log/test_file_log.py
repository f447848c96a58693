"""file-log through a real node: one JSON object per line appended to the
file (created 0644, existing content kept), the descriptor kept per worker
unless `reopen` asks for a new one per request (log rotation)."""
from __future__ import annotations

import json
import shutil
import stat
import tempfile
import time
from pathlib import Path

import pytest

from kongpy import paths
from tests.helpers.http import proxy


@pytest.fixture(scope="module")
def node(start_node):
    return start_node(workers=1)


@pytest.fixture(scope="module")
def service(node, upstream):
    return node.create("/services", {"name": "svc", "url": upstream.url})


@pytest.fixture
def tmp_path():
    """A folder the workers (nginx_user) may write to."""
    folder = Path(tempfile.mkdtemp(prefix="kongpy-file-log-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def lines_of(path: Path, count: int, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        lines = text.splitlines()
        if len(lines) >= count or time.monotonic() > deadline:
            assert text.endswith("\n"), text
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


def test_one_json_object_per_line_appended(node, service, tmp_path):
    path = tmp_path / "requests.log"
    path.write_text('{"kept": true}\n')
    path.chmod(0o666)
    node.route("/filed", {"name": "file-log", "config": {"path": str(path)}})
    node.wait_sync()
    for i in range(3):
        assert proxy(node).get(f"/filed?i={i}").status_code == 200
    entries = lines_of(path, 4)
    assert entries[0] == {"kept": True}
    assert [e["request"]["querystring"]["i"] for e in entries[1:]] == ["0", "1", "2"]
    assert all(e["response"]["status"] == 200 and e["workspace_name"] == "default"
               for e in entries[1:])


def test_a_new_file_is_created_with_mode_0644_under_the_nodes_umask(node, service, tmp_path):
    path = tmp_path / "new.log"
    node.route("/created", {"name": "file-log", "config": {"path": str(path)}})
    node.wait_sync()
    assert proxy(node).get("/created").status_code == 200
    assert len(lines_of(path, 1)) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~paths.UMASK == 0o640


def test_reopen_follows_a_rotated_file_and_the_cached_descriptor_does_not(
        node, service, tmp_path):
    cached, reopened = tmp_path / "cached.log", tmp_path / "reopened.log"
    node.route("/cached", {"name": "file-log", "config": {"path": str(cached)}})
    node.route("/reopened", {"name": "file-log", "config": {"path": str(reopened),
                                                            "reopen": True}})
    node.wait_sync()
    assert proxy(node).get("/cached").status_code == 200
    assert proxy(node).get("/reopened").status_code == 200
    lines_of(cached, 1)
    lines_of(reopened, 1)
    cached.rename(tmp_path / "cached.log.1")
    reopened.rename(tmp_path / "reopened.log.1")
    assert proxy(node).get("/cached?after=1").status_code == 200
    assert proxy(node).get("/reopened?after=1").status_code == 200
    # the kept descriptor still writes to the renamed file
    rotated = lines_of(tmp_path / "cached.log.1", 2)
    assert rotated[1]["request"]["querystring"] == {"after": "1"}
    assert not cached.exists()
    # reopen: a new file at the configured path
    assert [e["request"]["querystring"] for e in lines_of(reopened, 1)] == [{"after": "1"}]
    assert len(lines_of(tmp_path / "reopened.log.1", 1)) == 1


def test_a_401_of_an_earlier_plugin_is_logged(node, service, tmp_path):
    path = tmp_path / "denied.log"
    node.route("/denied", {"name": "key-auth"},
               {"name": "file-log", "config": {"path": str(path)}})
    node.wait_sync()
    assert proxy(node).get("/denied").status_code == 401
    entry = lines_of(path, 1)[0]
    assert entry["response"]["status"] == 401 and entry["source"] == "kong"


def test_an_unwritable_path_is_reported_and_the_request_served(node, service, tmp_path):
    path = tmp_path / "missing-dir" / "x.log"
    node.route("/unwritable", {"name": "file-log", "config": {"path": str(path)}})
    node.wait_sync()
    assert proxy(node).get("/unwritable").status_code == 200
    time.sleep(0.2)
    log = (node.prefix / "logs" / "error.log").read_text(errors="replace")
    assert "[file-log] failed to open the file: No such file or directory" in log


def test_custom_fields_by_lua(node, service, tmp_path):
    path = tmp_path / "custom.log"
    fields = {"route_name": "return kong.router.get_route().name"}
    node.route("/custom", {"name": "file-log", "config": {
        "path": str(path), "custom_fields_by_lua": fields}})
    node.wait_sync()
    assert proxy(node).get("/custom").status_code == 200
    assert lines_of(path, 1)[0]["route_name"] == "custom"


def test_a_custom_field_inside_the_route_stays_with_its_request(node, service, tmp_path):
    """The route's copy in the log object is shared by the route's requests:
    a field set inside it for bob's requests never shows in alice's."""
    path = tmp_path / "scoped.log"
    route = node.route("/scoped", {"name": "key-auth"},
                       {"name": "file-log", "config": {"path": str(path)}})
    for name in ("alice", "bob"):
        node.create("/consumers", {"username": name})
        node.create(f"/consumers/{name}/key-auth", {"key": f"{name}-key"})
    node.create("/plugins", {"name": "file-log", "route": {"id": route["id"]},
                             "consumer": {"username": "bob"},
                             "config": {"path": str(path),
                                        "custom_fields_by_lua": {"route.tag": "return 'bob'"}}})
    node.wait_sync()
    for name in ("alice", "bob", "alice"):
        assert proxy(node).get("/scoped", headers={"apikey": f"{name}-key"}).status_code == 200
    entries = lines_of(path, 3)
    assert [e["consumer"]["username"] for e in entries] == ["alice", "bob", "alice"]
    assert [e["route"].get("tag") for e in entries] == [None, "bob", None]
    assert all(e["route"]["name"] == "scoped" for e in entries)
