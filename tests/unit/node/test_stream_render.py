"""The stream keys of the template context and of the data-plane settings,
and the refusal of a node with stream listeners and no stream module."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kongpy import conf, paths
from kongpy.cli import main
from kongpy.render import context, writer

LISTEN = "127.0.0.1:19000 reuseport backlog=16384, 127.0.0.1:19001 ssl proxy_protocol, " \
         "127.0.0.1:19002 udp"


@pytest.fixture
def module(workdir, monkeypatch):
    path = workdir / "ngx_stream_kongpy_module.so"
    monkeypatch.setenv("KONGPY_STREAM_MODULE", str(path))
    return path


def _load(make_conf, **settings):
    settings.setdefault("proxy_listen", "127.0.0.1:18000")
    settings.setdefault("admin_listen", "127.0.0.1:18001")
    return conf.load(make_conf(**settings), env={})


def test_context_and_settings(make_conf, workdir, module):
    c = _load(make_conf, stream_listen=LISTEN)
    ctx = context.template_context(c, "node-1")
    assert ctx["stream_listeners"] == [
        {"address": "127.0.0.1:19000", "ssl": False, "udp": False, "proxy_protocol": False,
         "flags": "reuseport backlog=16384"},
        {"address": "127.0.0.1:19001", "ssl": True, "udp": False, "proxy_protocol": True,
         "flags": ""},
        {"address": "127.0.0.1:19002", "ssl": False, "udp": True, "proxy_protocol": False,
         "flags": ""}]
    assert ctx["stream_module"] == str(module)
    # the workers' folder: their temp root (or the prefix when they run as
    # the user rendering)
    folder = context.stream_dir(c)
    assert folder == Path(context.temp_root(c, "<node_id>")) / "stream"
    stream_file = str(folder / "stream.json")
    assert ctx["stream_snapshot_path"] == stream_file
    assert ctx["stream_tls_socket"] == str(folder / "tls.sock")
    dp = context.settings(c, "node-1")
    assert dp["stream_snapshot_path"] == stream_file
    assert dp["stream_tls_proxy"] == f"unix:{folder / 'tls.sock'}"
    assert dp["stream_listeners"] == ctx["stream_listeners"]


def test_off_means_no_listeners(make_conf):
    c = _load(make_conf)
    assert context.template_context(c, "n")["stream_listeners"] == []
    assert context.settings(c, "n")["stream_listeners"] == []


def test_module_path_default_and_override(monkeypatch, workdir):
    monkeypatch.delenv("KONGPY_STREAM_MODULE", raising=False)
    assert paths.stream_module() == paths.nginx_dir() / "build" / "ngx_stream_kongpy_module.so"
    monkeypatch.setenv("KONGPY_STREAM_MODULE", str(workdir / "m.so"))
    assert paths.stream_module() == workdir / "m.so"


def test_prepare_refuses_without_the_module(make_conf, workdir, module):
    c = _load(make_conf, stream_listen="127.0.0.1:19000")
    with pytest.raises(conf.ConfigError) as info:
        writer.prepare(c, test=False)
    assert str(info.value) == (
        f"stream_listen is set but the stream module {module} is missing; build it with "
        "scripts/setup.sh (or set stream_listen = off)")
    assert not (workdir / "prefix" / "nginx.conf").exists()


def test_start_refuses_without_the_module(make_conf, workdir, module):
    path = make_conf(stream_listen="127.0.0.1:19000", proxy_listen="127.0.0.1:18000",
                     admin_listen="127.0.0.1:18001")
    result = CliRunner().invoke(main, ["start", "-c", path])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: stream_listen is set but the stream module {module} is missing; build it "
        "with scripts/setup.sh (or set stream_listen = off)\n")
    assert not paths.prefix(workdir / "prefix").pid_file("supervisor").exists()
