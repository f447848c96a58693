from __future__ import annotations

import json
import os
import subprocess

import pytest

import kongpy
from kongpy import conf, paths, sslconf
from kongpy.render import context, writer

# A small main template: enough for nginx -t to judge the injected directives,
# independent of the Lua data plane.
MINI_TEMPLATE = """\
worker_processes {{ worker_processes }};
pid {{ pid_file }};
error_log {{ error_log }} {{ log_level }};
{% for d in injected.main %}{{ d.name }} {{ d.value }};
{% endfor %}
events { worker_connections {{ worker_connections }}; }
http {
    access_log {{ access_log }};
    client_body_temp_path {{ prefix }}/client_body_temp;
    proxy_temp_path {{ prefix }}/proxy_temp;
    fastcgi_temp_path {{ prefix }}/fastcgi_temp;
    uwsgi_temp_path {{ prefix }}/uwsgi_temp;
    scgi_temp_path {{ prefix }}/scgi_temp;
{% for d in injected.http %}    {{ d.name }} {{ d.value }};
{% endfor %}
    server {
{% for l in proxy_listeners %}        listen {{ l.address }}{% if l.ssl %} ssl{% endif %};
{% endfor %}
{% for c in ssl_certificates %}        ssl_certificate {{ c.cert }};
        ssl_certificate_key {{ c.key }};
{% endfor %}
        # {{ settings_file }}
    }
}
"""


@pytest.fixture
def mini_templates(workdir):
    root = workdir / "templates"
    root.mkdir()
    (root / writer.MAIN_TEMPLATE).write_text(MINI_TEMPLATE)
    return root


def _load(make_conf, **settings):
    settings.setdefault("proxy_listen", "127.0.0.1:18000, 127.0.0.1:18443 ssl http2")
    settings.setdefault("admin_listen", "127.0.0.1:18001")
    return conf.load(make_conf(**settings), env={})


def test_template_context_values(make_conf, workdir):
    c = _load(make_conf, trusted_ips="10.0.0.0/8", proxy_access_log="off",
              lua_package_path="/opt/lua/?.lua", nginx_http_client_body_buffer_size="16k",
              nginx_proxy_add_header="X-A b", nginx_main_worker_rlimit_nofile="4096")
    ctx = context.template_context(c, "node-1")
    prefix = str(workdir / "prefix")
    assert ctx["prefix"] == prefix
    assert ctx["error_log"] == f"{prefix}/logs/error.log"
    assert ctx["access_log"] == "off"
    assert ctx["pid_file"] == f"{prefix}/pids/nginx.pid"
    assert ctx["settings_file"] == f"{prefix}/settings.json"
    assert ctx["control_socket"] == f"{prefix}/sockets/control.sock"
    assert ctx["proxy_listeners"][1] == {"address": "127.0.0.1:18443", "ssl": True,
                                         "http2": True, "flags": ""}
    assert ctx["ssl_certificates"] == [
        {"cert": f"{prefix}/ssl/kongpy-default-rsa.crt",
         "key": f"{prefix}/ssl/kongpy-default-rsa.key"},
        {"cert": f"{prefix}/ssl/kongpy-default.crt", "key": f"{prefix}/ssl/kongpy-default.key"}]
    assert ctx["ssl"] == {"protocols": "TLSv1.2 TLSv1.3",
                          "ciphers": sslconf.CIPHER_SUITES["intermediate"]["ciphers"],
                          "prefer_server_ciphers": "off", "session_tickets": "on",
                          "session_timeout": "1d", "session_cache_size": "10m"}
    assert {"name": "kongpy_snapshot", "size": "64m"} in ctx["shared_dicts"]
    assert {"name": "kongpy_cache", "size": "128m"} in ctx["shared_dicts"]
    assert {"name": "kongpy_health", "size": "5m"} in ctx["shared_dicts"]
    assert ctx["real_ip_from"] == ["10.0.0.0/8"]
    assert ctx["client_body_buffer_size"] == "16k"
    assert ctx["worker_rlimit_nofile"] == "4096"
    assert {"name": "add_header", "value": "X-A b"} in ctx["injected"]["proxy"]
    http = [d["name"] for d in ctx["injected"]["http"]]
    assert "client_max_body_size" in http and "client_body_buffer_size" not in http
    lua_path = ctx["lua_package_path"]
    assert lua_path.startswith("/opt/lua/?.lua;") and lua_path.endswith(";;")
    assert f"{paths.lua_dir()}/?.lua" in lua_path
    assert "/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua" in lua_path
    assert ctx["lua_package_cpath"].endswith("/lua/5.1/?.so;;")
    assert all(isinstance(v, (str, int, bool, list, dict)) for v in ctx.values())


def test_auto_worker_limits_are_numbers(make_conf):
    ctx = context.template_context(_load(make_conf), "n")
    assert ctx["worker_connections"].isdigit() and int(ctx["worker_connections"]) <= 16384
    assert ctx["worker_rlimit_nofile"].isdigit()


def test_custom_ciphers(make_conf):
    c = _load(make_conf, ssl_cipher_suite="custom", ssl_ciphers="HIGH:!aNULL",
              ssl_protocols="TLSv1.3", ssl_prefer_server_ciphers="off",
              ssl_session_tickets="off", ssl_session_timeout="30m",
              ssl_session_cache_size="1m")
    assert context.template_context(c, "n")["ssl"] == {
        "protocols": "TLSv1.3", "ciphers": "HIGH:!aNULL", "prefer_server_ciphers": "off",
        "session_tickets": "off", "session_timeout": "30m", "session_cache_size": "1m"}


@pytest.mark.parametrize("suite, protocols, prefer", [
    ("modern", "TLSv1.3", "off"), ("intermediate", "TLSv1.2 TLSv1.3", "off"),
    ("old", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "on")])
def test_cipher_suites_set_protocols_as_kong(make_conf, suite, protocols, prefer):
    # ssl_protocols and ssl_prefer_server_ciphers count only with `custom`
    c = _load(make_conf, ssl_cipher_suite=suite, ssl_protocols="TLSv1.2",
              ssl_prefer_server_ciphers="on" if prefer == "off" else "off")
    tls = context.template_context(c, "n")["ssl"]
    assert (tls["protocols"], tls["prefer_server_ciphers"]) == (protocols, prefer)
    assert tls["ciphers"] == sslconf.CIPHER_SUITES[suite]["ciphers"]
    if suite == "modern":
        assert tls["ciphers"] is None


def test_ssl_cert_lists_render_every_pair(make_conf, workdir):
    files = {}
    for stem in ("a.crt", "a.key", "b.crt", "b.key"):
        files[stem] = workdir / stem
        files[stem].write_text("x")
    c = _load(make_conf, ssl_cert=f"{files['a.crt']}, {files['b.crt']}",
              ssl_cert_key=f"{files['a.key']},{files['b.key']}")
    assert context.template_context(c, "n")["ssl_certificates"] == [
        {"cert": str(files["a.crt"]), "key": str(files["a.key"])},
        {"cert": str(files["b.crt"]), "key": str(files["b.key"])}]


def test_dataplane_settings(make_conf, workdir):
    c = _load(make_conf, headers="Server_Tokens, X-Kong-Upstream-Status",
              headers_upstream="off", dns_resolver="10.0.0.2, 10.0.0.3:5353, [::1]:53",
              allow_debug_header="on")
    dp = context.settings(c, "node-1")
    assert dp["node_id"] == "node-1"
    assert dp["snapshot_path"] == f"{workdir}/prefix/config/snapshot.jsonl"
    assert dp["headers"] == ["server_tokens", "x-kong-upstream-status"]
    # upstream headers are nginx's (template context), not the Lua settings'
    assert "headers_upstream" not in dp
    assert context.template_context(c, "node-1")["upstream_request_id"] is False
    assert dp["dns_resolver"] == ["10.0.0.2:53", "10.0.0.3:5353", "[::1]:53"]
    assert dp["allow_debug_header"] is True
    assert dp["router_flavor"] == "traditional_compatible"


def test_dataplane_settings_router_flavor(make_conf):
    dp = context.settings(_load(make_conf, router_flavor="traditional"), "node-1")
    assert dp["router_flavor"] == "traditional"


def test_dataplane_settings_for_the_pdk(make_conf):
    c = _load(make_conf, trusted_ips="10.1.2.3/8, unix:, ::1", pg_password="hush",
              log_level="debug")
    dp = context.settings(c, "node-1")
    assert dp["kong_version"] == kongpy.KONG_VERSION
    assert dp["trusted_ips"] == ["10.0.0.0/8", "::1/128", "unix:"]
    conf = dp["configuration"]
    assert conf["log_level"] == "debug" and conf["role"] == "traditional"
    assert conf["pg_password"] == "******" and "hush" not in json.dumps(dp)
    # as configured, as Kong keeps it; the expansion is loaded_plugins
    assert conf["plugins"] == ["bundled"]
    assert conf["loaded_plugins"]["key-auth"] is True and "bundled" not in conf["loaded_plugins"]
    assert dp["entities"]["consumers"] == {"unique": ["username", "custom_id"],
                                           "cache_key": [], "foreign": [], "ttl": False}
    assert dp["entities"]["keyauth_credentials"]["cache_key"] == ["key"]
    assert dp["entities"]["keyauth_credentials"]["foreign"] == ["consumer"]
    assert dp["entities"]["acls"]["cache_key"] == ["consumer", "group"]
    assert dp["entities"]["plugins"]["unique"] == ["instance_name"]
    json.dumps(dp)  # the settings file is JSON


def test_resolvers_from_resolv_conf(workdir):
    resolv = workdir / "resolv.conf"
    resolv.write_text("# comment\nsearch example\nnameserver 10.1.1.1\nnameserver fe80::1%eth0\n")
    assert context.system_resolvers(str(resolv)) == ["10.1.1.1:53", "[fe80::1]:53"]
    assert context.system_resolvers(str(workdir / "missing")) == ["127.0.0.1:53"]


def test_dataplane_resolvers_never_empty(make_conf):
    assert context.settings(_load(make_conf), "n")["dns_resolver"]


def test_prepare_writes_prefix_and_reports_changes(make_conf, mini_templates, nginx_bin):
    c = _load(make_conf)
    first = writer.prepare(c, templates=mini_templates)
    layout = paths.prefix(c["prefix"])
    assert first.changed and first.nginx_conf_changed and first.settings_changed
    for directory in layout.dirs():
        assert directory.is_dir()
    assert "listen 127.0.0.1:18443 ssl;" in layout.nginx_conf.read_text()
    assert f"# {layout.settings_file}" in layout.nginx_conf.read_text()
    dp = json.loads(layout.settings_file.read_text())
    assert dp["node_id"] == paths.node_id(c["prefix"])
    for stem, algorithm in (("kongpy-default", "id-ecPublicKey"),
                            ("kongpy-default-rsa", "rsaEncryption")):
        out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-text", "-in",
                              str(layout.ssl / f"{stem}.crt")], capture_output=True, text=True)
        assert "localhost" in out.stdout and algorithm in out.stdout
        assert oct(os.stat(layout.ssl / f"{stem}.key").st_mode & 0o777) == "0o600"
    again = writer.prepare(c, templates=mini_templates)
    assert not again.changed
    assert [p.name for p in layout.root.iterdir() if p.name.endswith(".tmp")] == []


def test_bad_injected_directive_keeps_previous_files(make_conf, mini_templates, nginx_bin):
    c = _load(make_conf)
    writer.prepare(c, templates=mini_templates)
    layout = paths.prefix(c["prefix"])
    conf_before = layout.nginx_conf.read_text()
    dp_before = layout.settings_file.read_text()
    bad = _load(make_conf, nginx_http_no_such_directive="on", headers="off")
    with pytest.raises(writer.NginxTestError, match="no_such_directive"):
        writer.prepare(bad, templates=mini_templates)
    assert layout.nginx_conf.read_text() == conf_before
    assert layout.settings_file.read_text() == dp_before
    assert [p.name for p in layout.root.iterdir() if p.name.endswith(".tmp")] == []


def test_validate_only_does_not_swap(make_conf, mini_templates, nginx_bin):
    c = _load(make_conf)
    writer.prepare(c, templates=mini_templates)
    layout = paths.prefix(c["prefix"])
    before = layout.nginx_conf.read_text()
    changed = _load(make_conf, nginx_main_worker_priority="5")
    result = writer.prepare(changed, swap=False, templates=mini_templates)
    assert not result.changed
    assert layout.nginx_conf.read_text() == before
    assert writer.prepare(changed, templates=mini_templates).nginx_conf_changed
    assert "worker_priority 5;" in layout.nginx_conf.read_text()


def test_missing_template_is_a_render_error(make_conf, workdir):
    with pytest.raises(writer.RenderError, match="template not found"):
        writer.render_nginx_conf(_load(make_conf), "n", templates=workdir)


# -- the real templates ----------------------------------------------------------


def test_real_templates_render_the_context(make_conf):
    c = _load(make_conf, nginx_proxy_large_client_header_buffers="8 24k",
              nginx_worker_processes="3", trusted_ips="10.0.0.0/8")
    text = writer.render_nginx_conf(c, "node-1")
    prefix = c["prefix"]
    assert "worker_processes 3;" in text
    assert "listen 127.0.0.1:18000" in text
    assert "listen 127.0.0.1:18443 ssl http2" in text
    # the default pairs, then the configuration's certificates by SNI
    assert f"ssl_certificate {prefix}/ssl/kongpy-default-rsa.crt;" in text
    assert f"ssl_certificate_key {prefix}/ssl/kongpy-default.key;" in text
    assert "ssl_certificate_by_lua_block" in text and "ssl_prefer_server_ciphers off;" in text
    assert "ssl_session_cache shared:kongpy_ssl:10m;" in text
    assert "lua_shared_dict kongpy_snapshot 64m;" in text
    assert "lua_shared_dict kongpy_cache 128m;" in text
    assert "large_client_header_buffers 8 24k;" in text
    assert "client_max_body_size 0;" in text
    assert "set_real_ip_from 10.0.0.0/8;" in text
    assert f"unix:{prefix}/sockets/control.sock" in text
    assert f"{prefix}/settings.json" in text
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("trusted, proto, port", [
    ("", "$scheme", "$server_port"),
    ("unix:", "$kongpy_x_forwarded_proto", "$kongpy_x_forwarded_port"),
    ("10.0.0.0/8", "$kongpy_x_forwarded_proto", "$kongpy_x_forwarded_port"),
])
def test_forwarded_headers_skip_the_maps_when_nothing_is_trusted(
        make_conf, trusted, proto, port):
    """With no trusted peer the maps could only answer the gateway's own
    values: the headers name nginx's variables instead (every proxying
    location, gRPC's too)."""
    text = writer.render_nginx_conf(_load(make_conf, trusted_ips=trusted), "node-1")
    assert f"proxy_set_header X-Forwarded-Proto  {proto};" in text
    assert f"grpc_set_header X-Forwarded-Proto  {proto};" in text
    assert f"proxy_set_header X-Forwarded-Port   {port};" in text
    if proto == "$scheme":
        assert "_set_header X-Forwarded-Host   $host;" in text
        assert "_set_header X-Forwarded-Path   $upstream_x_forwarded_path;" in text
        assert "_set_header X-Forwarded-Prefix $upstream_x_forwarded_prefix;" in text
        assert "set_header X-Forwarded-Proto  $kongpy_x_forwarded_proto" not in text
    else:
        assert "_set_header X-Forwarded-Prefix $kongpy_x_forwarded_prefix;" in text
        assert "set_header X-Forwarded-Proto  $scheme" not in text


def test_forwarded_port_follows_port_maps_when_nothing_is_trusted(make_conf):
    text = writer.render_nginx_conf(_load(make_conf, port_maps="80:18000"), "node-1")
    assert "proxy_set_header X-Forwarded-Port   $kongpy_host_port;" in text


@pytest.mark.parametrize("settings, expected", [
    ({}, ["x-kong-upstream-latency", "x-kong-proxy-latency", "via", "x-kong-request-id"]),
    ({"headers": "server_tokens"}, ["via"]),
    ({"headers": "X-Kong-Proxy-Latency, X-Kong-Request-Id"},
     ["x-kong-proxy-latency", "x-kong-request-id"]),
    ({"headers": "off"}, []),
    ({"headers": "off, latency_tokens"}, []),
    ({"headers": "latency_tokens, off"}, ["x-kong-upstream-latency", "x-kong-proxy-latency"]),
    # location / having add_header or proxy_hide_header of its own would
    # stop nginx inheriting the server's or http block's
    ({"nginx_proxy_add_header": "X-A b"}, []),
    ({"nginx_http_proxy_hide_header": "X-B"}, []),
    ({"nginx_location_add_header": "X-A b"},
     ["x-kong-upstream-latency", "x-kong-proxy-latency", "via", "x-kong-request-id"]),
])
def test_nginx_adds_the_enabled_gateway_headers_in_location_root(make_conf, settings, expected):
    c = _load(make_conf, **settings)
    assert context.nginx_headers(c) == expected
    assert context.settings(c, "n")["nginx_headers"] == expected
    text = writer.render_nginx_conf(c, "n")
    added = [line.split()[1] for line in text.splitlines()
             if line.strip().startswith("add_header") and "$kongpy_" in line]
    hidden = [line.split()[1].rstrip(";") for line in text.splitlines()
              if line.strip().startswith("proxy_hide_header ") and "X-B" not in line]
    assert [h.lower() for h in added] == expected
    assert [h.lower() for h in hidden] == expected
    assert ("map $kongpy_upstream_latency $kongpy_resp_via" in text) == ("via" in expected)
    assert ("kongpy.header_filter(true)" in text)


def test_real_templates_pass_nginx_test(make_conf, nginx_bin):
    c = _load(make_conf)
    result = writer.prepare(c)
    assert result.changed
    writer.nginx_test(c["prefix"], result.nginx_conf)


def test_real_templates_refuse_bad_directive(make_conf, nginx_bin):
    c = _load(make_conf)
    writer.prepare(c)
    before = paths.prefix(c["prefix"]).nginx_conf.read_text()
    with pytest.raises(writer.NginxTestError):
        writer.prepare(_load(make_conf, nginx_proxy_no_such_directive="1"))
    assert paths.prefix(c["prefix"]).nginx_conf.read_text() == before
