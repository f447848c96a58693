"""The GUI server: shipped files, /kconfig.js, the SPA fallback, headers, the base path."""
from __future__ import annotations

import json
import re

import pytest
from werkzeug.test import Client

from kongpy import conf
from kongpy.gui.app import STATIC, create_app


def _client(tmp_path, **overrides) -> Client:
    config = conf.load(None, env={}, overrides={"prefix": str(tmp_path), **overrides})
    return Client(create_app(config))


def _check_headers(resp) -> None:
    assert resp.headers["X-Frame-Options"] == "sameorigin"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_index_and_spa_fallback(tmp_path):
    client = _client(tmp_path)
    index = client.get("/")
    assert index.status_code == 200
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    _check_headers(index)
    assert b"__km_base__" not in index.data
    assert b'src="/js/app.js"' in index.data and b'href="/app.css"' in index.data
    for deep in ("/services", "/services/1234/edit", "/history", "/no/such/page"):
        resp = client.get(deep)
        assert resp.status_code == 200 and resp.data == index.data, deep
        _check_headers(resp)


def test_every_shipped_script_is_served(tmp_path):
    client = _client(tmp_path)
    index = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="/([^"]+)"', index)
    assert "kconfig.js" in scripts and "js/app.js" in scripts
    shipped = sorted(p.relative_to(STATIC).as_posix() for p in (STATIC / "js").glob("*.js"))
    assert sorted(s for s in scripts if s.startswith("js/")) == shipped
    for name in scripts + ["app.css"]:
        resp = client.get("/" + name)
        assert resp.status_code == 200, name
        assert resp.headers["Content-Type"].startswith(
            "text/css" if name.endswith(".css") else "application/javascript"), name
        _check_headers(resp)


def test_kconfig_js(tmp_path):
    resp = _client(tmp_path, admin_listen="127.0.0.1:9101").get("/kconfig.js")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-cache"
    text = resp.get_data(as_text=True)
    assert text.startswith("window.K_CONFIG = {") and text.rstrip().endswith("};")
    values = json.loads(text[len("window.K_CONFIG = "):].rstrip().rstrip(";"))
    assert values == {"ADMIN_GUI_PATH": "/", "ADMIN_API_URL": "", "ADMIN_API_PORT": "9101",
                      "ADMIN_API_SSL_PORT": "", "ANONYMOUS_REPORTS": "false"}


def test_robots(tmp_path):
    resp = _client(tmp_path).get("/robots.txt")
    assert resp.get_data(as_text=True) == "User-agent: *\nDisallow: /\n"


def test_base_path(tmp_path):
    client = _client(tmp_path, admin_gui_path="/manager")
    moved = client.get("/manager")
    assert moved.status_code == 301 and moved.headers["Location"] == "/manager/"
    index = client.get("/manager/services")
    assert index.status_code == 200
    assert b'src="/manager/js/app.js"' in index.data and b"__km_base__" not in index.data
    assert b"'ADMIN_GUI_PATH'" not in client.get("/manager/kconfig.js").data
    assert b'"ADMIN_GUI_PATH": "/manager"' in client.get("/manager/kconfig.js").data
    assert client.get("/manager/js/api.js").status_code == 200
    for outside in ("/", "/services", "/managerx/"):
        resp = client.get(outside)
        assert resp.status_code == 404, outside
        _check_headers(resp)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_only_reads(tmp_path, method):
    resp = _client(tmp_path).open("/services", method=method)
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD"
