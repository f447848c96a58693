"""The template context names of the proxy's forwarding headers (contracts.md §4)."""
from __future__ import annotations

from kongpy import conf
from kongpy.render import context

NODE = "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10"


def _ctx(tmp_path, **overrides):
    config = conf.load(None, env={}, overrides={"prefix": str(tmp_path), **overrides})
    return context.template_context(config, NODE)


def test_trusted_ips_split_into_nets_and_unix(tmp_path):
    ctx = _ctx(tmp_path, trusted_ips="10.1.2.3/8, ::1, unix:, 10.0.0.0/8")
    assert ctx["trusted_geo"] == [{"net": "0.0.0.0/0", "value": 0},
                                  {"net": "::/0", "value": 0},
                                  {"net": "10.0.0.0/8", "value": 1},
                                  {"net": "::1/128", "value": 1}]
    assert ctx["trusted_unix"] is True
    ctx = _ctx(tmp_path, trusted_ips="0.0.0.0/0")
    assert ctx["trusted_geo"] == [{"net": "0.0.0.0/0", "value": 1},
                                  {"net": "::/0", "value": 0}]
    assert ctx["trusted_unix"] is False


def test_via_tokens_follow_the_request_protocol():
    via = context.via_tokens("1.2.3")
    assert via["default"] == "1.1 kongpy/1.2.3"
    assert {"protocol": "HTTP/2.0", "value": "2 kongpy/1.2.3"} in via["by_protocol"]
    assert {"protocol": "HTTP/1.0", "value": "1 kongpy/1.2.3"} in via["by_protocol"]


def test_upstream_request_id_follows_headers_upstream(tmp_path):
    assert _ctx(tmp_path)["upstream_request_id"] is True
    assert _ctx(tmp_path, headers_upstream="off")["upstream_request_id"] is False


def test_syslog_socket_reaches_the_settings(tmp_path, monkeypatch):
    """kongpy's syslog_socket: /dev/log by default, a relative path made absolute."""
    assert context.settings(conf.load(None, env={}, overrides={"prefix": str(tmp_path)}),
                            NODE)["syslog_socket"] == "/dev/log"
    monkeypatch.chdir(tmp_path)
    config = conf.load(None, env={}, overrides={"prefix": str(tmp_path),
                                                "syslog_socket": "run/log.sock"})
    assert context.settings(config, NODE)["syslog_socket"] == str(tmp_path / "run/log.sock")
