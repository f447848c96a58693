"""The GUI's node properties: defaults, Kong's admin_gui_path messages, listeners."""
from __future__ import annotations

import socket

import click
import pytest

from kongpy import conf, guiconf
from kongpy.cli import _node
from kongpy.errors import ConfigError
from tests.helpers.servers import free_port


def _load(tmp_path, **overrides):
    return conf.load(None, env={}, overrides={"prefix": str(tmp_path), **overrides})


def test_defaults(tmp_path):
    c = _load(tmp_path)
    assert [li["address"] for li in c["admin_gui_listen"]] == ["127.0.0.1:8002"]
    assert c["admin_gui_path"] == "/"
    assert c["admin_gui_api_url"] is None
    assert c["admin_gui_access_log"] == "logs/admin_gui_access.log"
    assert c["admin_gui_error_log"] == "logs/admin_gui_error.log"
    assert guiconf.served(c)


def test_off_and_served(tmp_path):
    assert _load(tmp_path, admin_gui_listen="off")["admin_gui_listen"] == []
    assert not guiconf.served(_load(tmp_path, admin_gui_listen="off"))
    # a GUI with no Admin API to call is not served (Kong warns the same way)
    assert not guiconf.served(_load(tmp_path, admin_listen="off"))
    assert guiconf.served(_load(tmp_path, admin_listen="off",
                                admin_gui_api_url="admin.example:8001"))


@pytest.mark.parametrize("path, message", [
    ("manager", "admin_gui_path must start with a slash ('/')"),
    ("/manager/", "admin_gui_path must not end with a slash ('/')"),
    ("/man ager", "admin_gui_path can only contain letters, digits, hyphens ('-'), "
                  "underscores ('_'), and slashes ('/')"),
    ("/a.b", "admin_gui_path can only contain letters, digits, hyphens ('-'), "
             "underscores ('_'), and slashes ('/')"),
    ("/a//b", "admin_gui_path must not contain continuous slashes ('/')"),
    ("//", "admin_gui_path must not contain continuous slashes ('/')"),
])
def test_path_is_checked_with_kongs_messages(tmp_path, path, message):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, admin_gui_path=path)
    assert str(caught.value) == message
    assert caught.value.property == "admin_gui_path"


@pytest.mark.parametrize("path", ["/", "/manager", "/kong/manager-2_x"])
def test_valid_paths(tmp_path, path):
    assert _load(tmp_path, admin_gui_path=path)["admin_gui_path"] == path


@pytest.mark.parametrize("overrides, needle", [
    ({"admin_gui_listen": "127.0.0.1:8445 ssl"}, "not available yet on the GUI"),
    ({"admin_gui_listen": "127.0.0.1:8001"}, "is also in admin_listen"),
    ({"admin_gui_listen": "nowhere"}, "not a valid address"),
    ({"admin_gui_api_url": "http://a b"}, "is not a URL"),
    ({"admin_gui_api_url": "ftp://admin.example"}, "is not a URL"),
])
def test_invalid_values(tmp_path, overrides, needle):
    with pytest.raises(ConfigError, match=needle):
        _load(tmp_path, **overrides)


def test_listen_origins(tmp_path):
    assert guiconf.listen_origins(_load(tmp_path)) == [
        "http://127.0.0.1:8002", "http://localhost:8002"]
    wide = _load(tmp_path, admin_gui_listen="0.0.0.0:9002, [::]:9003, 10.1.2.3:9004",
                 admin_auth="token")
    assert guiconf.listen_origins(wide) == [
        "http://127.0.0.1:9002", "http://localhost:9002", "http://127.0.0.1:9003",
        "http://localhost:9003", "http://[::1]:9003", "http://10.1.2.3:9004"]


def test_kconfig_values(tmp_path):
    c = _load(tmp_path, admin_listen="127.0.0.1:9001", admin_gui_path="/manager",
              admin_gui_api_url="admin.example:9001")
    assert guiconf.kconfig(c) == {"ADMIN_GUI_PATH": "/manager",
                                  "ADMIN_API_URL": "admin.example:9001",
                                  "ADMIN_API_PORT": "9001", "ADMIN_API_SSL_PORT": "",
                                  "ANONYMOUS_REPORTS": "false"}


def test_start_names_the_gui_and_checks_its_port(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        c = _load(tmp_path, proxy_listen=f"127.0.0.1:{free_port()}",
                  admin_listen=f"127.0.0.1:{free_port()}", admin_gui_listen=f"127.0.0.1:{port}")
        assert _node.listeners(c).endswith(f"; GUI on 127.0.0.1:{port}")
        with pytest.raises(click.ClickException,
                           match=f"admin_gui_listen 127.0.0.1:{port}: address already in use"):
            _node.check_ports(c)
        # a GUI that is not served (no Admin API to call) neither
        unserved = _load(tmp_path, admin_listen="off", admin_gui_listen=f"127.0.0.1:{port}")
        assert "GUI" not in _node.listeners(unserved)
        _node.check_ports(_load(tmp_path, proxy_listen=f"127.0.0.1:{free_port()}",
                                admin_listen="off", admin_gui_listen=f"127.0.0.1:{port}"))
