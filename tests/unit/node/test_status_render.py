"""status_listen and its properties: the Status API's server block, its
certificates and logs, and the prometheus plugin's shared dict."""
from __future__ import annotations

import socket

import click
import pytest

from kongpy import conf
from kongpy.cli import _node
from kongpy.errors import ConfigError
from kongpy.render import context, writer


def _load(make_conf, **settings):
    settings.setdefault("proxy_listen", "127.0.0.1:18000")
    settings.setdefault("admin_listen", "127.0.0.1:18001")
    settings.setdefault("admin_gui_listen", "off")
    return conf.load(make_conf(**settings), env={})


def test_off_by_default_as_in_kong(make_conf):
    c = _load(make_conf)
    assert c["status_listen"] == [] and c["status_access_log"] == "off"
    text = writer.render_nginx_conf(c, "node-1")
    assert "kong_status" not in text


def test_server_block_logs_and_certificates(make_conf, workdir):
    cert, key = workdir / "s.crt", workdir / "s.key"
    cert.write_text("x")
    key.write_text("x")
    c = _load(make_conf, status_listen="127.0.0.1:18100, 127.0.0.1:18543 ssl reuseport",
              status_access_log="logs/status_access.log",
              status_ssl_cert=str(cert), status_ssl_cert_key=str(key))
    ctx = context.template_context(c, "n")
    prefix = c["prefix"]
    assert ctx["status_listeners"] == [
        {"address": "127.0.0.1:18100", "ssl": False, "http2": False, "flags": ""},
        {"address": "127.0.0.1:18543", "ssl": True, "http2": False, "flags": "reuseport"}]
    assert ctx["status_access_log"] == f"{prefix}/logs/status_access.log"
    assert ctx["status_error_log"] == f"{prefix}/logs/status_error.log"
    assert ctx["status_ssl_certificates"] == [{"cert": str(cert), "key": str(key)}]
    text = writer.render_nginx_conf(c, "node-1")
    block = text[text.index("server_name kong_status;"):text.index("server_name kongpy_control")]
    assert "listen 127.0.0.1:18100;" in block
    assert "listen 127.0.0.1:18543 ssl reuseport;" in block
    assert f"access_log {prefix}/logs/status_access.log kongpy;" in block
    assert f"ssl_certificate {cert};" in block
    assert 'require("kongpy.status").serve()' in block


def test_ssl_without_certificates_uses_the_node_defaults(make_conf):
    c = _load(make_conf, status_listen="127.0.0.1:18543 ssl")
    ctx = context.template_context(c, "n")
    assert ctx["status_ssl_certificates"] == ctx["ssl_certificates"]


def test_refusals(make_conf, workdir):
    cert = workdir / "s.crt"
    cert.write_text("x")
    with pytest.raises(ConfigError, match="status_ssl_cert_key must be specified"):
        _load(make_conf, status_ssl_cert=str(cert))
    with pytest.raises(ConfigError, match="status_listen"):
        _load(make_conf, status_listen="127.0.0.1:18001")  # the Admin API's
    with pytest.raises(ConfigError, match="status_ssl_cert: failed loading certificate"):
        _load(make_conf, status_ssl_cert=str(workdir / "none.crt"),
              status_ssl_cert_key=str(cert))


def test_prometheus_dict_follows_the_plugin(make_conf):
    dicts = {d["name"]: d["size"] for d in context.template_context(
        _load(make_conf), "n")["shared_dicts"]}
    assert dicts["prometheus_metrics"] == "5m"
    dicts = {d["name"] for d in context.template_context(
        _load(make_conf, plugins="key-auth"), "n")["shared_dicts"]}
    assert "prometheus_metrics" not in dicts
    # an injected declaration sizes it instead (and is not declared twice)
    c = _load(make_conf, nginx_http_lua_shared_dict="prometheus_metrics 64m")
    assert "prometheus_metrics" not in {
        d["name"] for d in context.template_context(c, "n")["shared_dicts"]}
    text = writer.render_nginx_conf(c, "node-1")
    assert text.count("lua_shared_dict prometheus_metrics") == 1
    assert "lua_shared_dict prometheus_metrics 64m;" in text


def test_status_server_passes_nginx_test(make_conf, nginx_bin):
    c = _load(make_conf, status_listen="127.0.0.1:18100, 127.0.0.1:18543 ssl http2")
    result = writer.prepare(c)
    writer.nginx_test(c["prefix"], result.nginx_conf)


def test_start_names_the_status_api_and_checks_its_port(make_conf):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        c = _load(make_conf, status_listen=f"127.0.0.1:{port}")
        assert _node.listeners(c).endswith(f"; Status API on 127.0.0.1:{port}")
        with pytest.raises(click.ClickException,
                           match=f"status_listen 127.0.0.1:{port}: address already in use"):
            _node.check_ports(c)
    finally:
        busy.close()
    assert "Status API" not in _node.listeners(_load(make_conf))


def test_kongs_own_dicts_for_kong_plugins(make_conf):
    """``kong`` and ``kong_locks`` exist as in Kong (plugins written for Kong
    use ngx.shared.kong and resty.lock on kong_locks); an injected
    declaration sizes one instead of a second declaration."""
    dicts = {d["name"]: d["size"] for d in context.template_context(
        _load(make_conf), "n")["shared_dicts"]}
    assert (dicts["kong"], dicts["kong_locks"]) == ("5m", "8m")
    c = _load(make_conf, nginx_http_lua_shared_dict="kong_locks 1m")
    text = writer.render_nginx_conf(c, "node-1")
    assert text.count("lua_shared_dict kong_locks") == 1
    assert "lua_shared_dict kong_locks 1m;" in text
    assert "lua_shared_dict kong 5m;" in text
