from __future__ import annotations

import os
import uuid
from pathlib import Path

from kongpy import paths


def test_roots_come_from_the_checkout():
    root = Path(__file__).resolve().parents[3]
    assert paths.share_root() == root
    assert paths.checkout_root() == root
    assert paths.templates_dir() == root / "templates"
    assert paths.lua_dir() == root / "lua"
    assert (paths.templates_dir() / "kongpy.conf.default").is_file()


def test_share_dir_override(workdir, monkeypatch):
    (workdir / "templates").mkdir()
    monkeypatch.setenv("KONGPY_SHARE_DIR", str(workdir))
    assert paths.templates_dir() == workdir / "templates"


def test_installed_package_uses_the_copy_it_carries(workdir, monkeypatch):
    site = workdir / "site-packages"
    (site / "kongpy" / "share" / "templates").mkdir(parents=True)
    # Another distribution's stray top-level folder does not make a checkout.
    (site / "templates").mkdir()
    monkeypatch.setattr(paths, "__file__", str(site / "kongpy" / "paths.py"))
    assert paths.checkout_root() is None
    assert paths.share_root() == site / "kongpy" / "share"
    assert paths.lua_dir() == site / "kongpy" / "share" / "lua"


def test_debian_lua_paths():
    assert paths.system_lua_path() == ["/usr/share/lua/5.1/?.lua",
                                       "/usr/share/lua/5.1/?/init.lua"]
    (cpath,) = paths.system_lua_cpath()
    assert cpath.startswith("/usr/lib/") and cpath.endswith("/lua/5.1/?.so")
    assert os.path.isdir(os.path.dirname(cpath)) or not os.path.isdir("/usr/lib/x86_64-linux-gnu")


def test_prefix_layout(workdir):
    layout = paths.prefix(workdir / "p")
    layout.make_dirs()
    made = {d.name for d in (workdir / "p").iterdir()}
    assert made >= {"logs", "pids", "sockets", "config", "ssl"}
    assert layout.pid_file("nginx") == workdir / "p" / "pids" / "nginx.pid"
    assert layout.control_socket == workdir / "p" / "sockets" / "control.sock"
    assert layout.snapshot_file == workdir / "p" / "config" / "snapshot.jsonl"
    assert layout.env_file.name == ".kongpy_env"


def test_node_id_is_created_once_and_kept(workdir):
    first = paths.node_id(workdir / "p")
    assert str(uuid.UUID(first)) == first
    assert paths.node_id(workdir / "p") == first
    (workdir / "p" / "node_id").write_text("garbage")
    replaced = paths.node_id(workdir / "p")
    assert replaced != first and str(uuid.UUID(replaced)) == replaced
