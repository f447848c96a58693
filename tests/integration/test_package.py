"""kongpy installed from its wheel, away from any checkout, renders a prefix nginx accepts.

The wheel is built (sdist, then the wheel from the sdist) from a copy of the
working tree and installed with its dependencies into a fresh virtualenv; the
installed ``kongpy`` must then find its templates, Lua code and plugins inside
the installed package, never in the checkout the test runs from.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import require_binary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# What .gitignore keeps out of the working tree, and git's own folder.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".cache", "build", "dist", "servroot",
                                     ".pytest_cache", "__pycache__", "*.pyc", "*.egg-info")
_TIMEOUT = 300


def _run(cmd: list, **kwargs) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          timeout=_TIMEOUT, **kwargs)
    assert proc.returncode == 0, f"{cmd[:4]} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def _clean_env() -> dict[str, str]:
    """The environment of a user who never saw the checkout."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith(("KONGPY_", "KONG_"))}


def _build_wheel(tmp: Path) -> Path:
    source, dist = tmp / "source", tmp / "dist"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source])
    (wheel,) = dist.glob("kongpy-*.whl")
    return wheel


def _lua_package_path(nginx_conf: Path) -> list[str]:
    for line in nginx_conf.read_text().splitlines():
        line = line.strip()
        if line.startswith("lua_package_path "):
            return line[len("lua_package_path "):].strip("';").split(";")
    raise AssertionError("no lua_package_path in nginx.conf")


def test_wheel_installs_a_kongpy_that_needs_no_checkout(tmp_path):
    nginx = require_binary("nginx")
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "kongpy/share/templates/nginx.conf.j2" in names
    assert "kongpy/share/lua/kongpy/init.lua" in names
    assert "kongpy/share/lua/kong/plugins/key-auth/handler.lua" in names
    assert "kongpy/share/lua/kong/plugins/key-auth/schema.lua" in names
    assert "kongpy/share/lua/kong/plugins/key-auth/daos.lua" in names
    assert not [n for n in names if n.startswith("kongpy/share/plugins/")]
    # the web GUI's pages, every one index.html loads (kongpy/gui/static)
    gui = ROOT / "kongpy" / "gui" / "static"
    shipped = [f"kongpy/gui/static/{p.relative_to(gui).as_posix()}" for p in gui.rglob("*")
               if p.is_file()]
    assert "kongpy/gui/static/js/app.js" in shipped
    assert sorted(n for n in names if n.startswith("kongpy/gui/static/")) == sorted(shipped)
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n]

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
          "--disable-pip-version-check", "--no-input", wheel], env=_clean_env())

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    prefix = tmp_path / "prefix"
    package = Path(_run([python, "-c", "import kongpy; print(kongpy.__file__)"],
                        cwd=elsewhere, env=_clean_env()).strip()).parent
    assert package.is_relative_to(venv)
    _run([venv / "bin" / "kongpy", "prepare", "-p", prefix], cwd=elsewhere, env=_clean_env())
    _run([nginx, "-t", "-p", f"{prefix}/", "-c", prefix / "nginx.conf"], cwd=elsewhere)

    shared = package / "share"
    entries = _lua_package_path(prefix / "nginx.conf")
    assert f"{shared}/lua/?.lua" in entries
    assert not [e for e in entries if e.startswith(f"{shared}/plugins")]
    assert not [e for e in entries if e.startswith(str(ROOT))]
    assert str(ROOT) not in (prefix / "nginx.conf").read_text()
