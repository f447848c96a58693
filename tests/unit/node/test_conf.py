from __future__ import annotations

import os
import re

import pytest

from kongpy import conf, paths


def test_another_user_has_its_default_prefix_at_home(workdir, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(workdir))
    assert conf.load(None, env={})["prefix"] == str(workdir / ".kongpy")
    assert conf.load(None, env={"KONGPY_PREFIX": "/srv/gw"})["prefix"] == "/srv/gw"


def test_defaults_match_kong(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    c = conf.load(None, env={})
    # absolute, as Kong's /usr/local/kong: every command finds the node
    assert c["prefix"] == ("/usr/local/kongpy" if os.geteuid() == 0
                           else os.path.expanduser("~/.kongpy"))
    assert c["log_level"] == "notice"
    assert [(li["address"], li["ssl"], li["http2"], li["flags"]) for li in c["proxy_listen"]] == [
        ("0.0.0.0:8000", False, False, "reuseport backlog=16384"),
        ("0.0.0.0:8443", True, True, "reuseport backlog=16384")]
    assert [li["address"] for li in c["admin_listen"]] == ["127.0.0.1:8001"]
    assert c["admin_workers"] == 2
    assert c["nginx_worker_processes"] == "auto"
    assert c["database"] == "sqlite"
    assert c["sqlite_path"] == os.path.join(c["prefix"], "kongpy.db")
    assert c["db_update_frequency"] == 1.0
    assert c["config_history_size"] == 100
    assert [c[n] for n in conf.LUA_MAX] == [100, 100, 100, 100]
    assert c["plugins"] == ["bundled"]
    assert c["router_flavor"] == "traditional_compatible"
    assert c["headers"] == ["server_tokens", "latency_tokens", "X-Kong-Request-Id"]
    assert c["headers_upstream"] == ["X-Kong-Request-Id"]
    assert c["trusted_ips"] == []
    assert c["real_ip_header"] == "X-Real-IP"
    assert c["real_ip_recursive"] is False
    assert c["error_default_type"] == "text/plain"
    assert (c["upstream_keepalive_pool_size"], c["upstream_keepalive_max_requests"],
            c["upstream_keepalive_idle_timeout"]) == (512, 10000, 60)
    assert c["ssl_cert"] == [] and c["ssl_cert_key"] == []
    assert (c["ssl_prefer_server_ciphers"], c["ssl_session_tickets"], c["ssl_session_timeout"],
            c["ssl_session_cache_size"]) == (True, True, "1d", "10m")
    assert c["ssl_cipher_suite"] == "intermediate"
    assert c["ssl_protocols"] == "TLSv1.2 TLSv1.3"
    assert c["dns_resolver"] == [] and c["dns_hostsfile"] == "/etc/hosts"
    assert c["dns_order"] == ["LAST", "SRV", "A", "CNAME"]
    assert c["mem_cache_size"] == "128m" and c["snapshot_cache_size"] == "64m"
    assert c["proxy_access_log"] == "logs/access.log"
    assert c["proxy_error_log"] == "logs/error.log"
    assert c["allow_debug_header"] is False
    assert (c["untrusted_lua"], c["untrusted_lua_sandbox_requires"],
            c["untrusted_lua_sandbox_environment"]) == ("sandbox", [], [])
    assert c["nginx_http_client_max_body_size"] == "0"
    assert (c["pg_host"], c["pg_port"], c["pg_user"], c["pg_database"], c["pg_password"],
            c["pg_timeout"], c["pg_ssl"]) == ("127.0.0.1", 5432, "kong", "kong", None, 5000,
                                              False)
    assert (c["cassandra_contact_points"], c["cassandra_port"], c["cassandra_keyspace"],
            c["cassandra_consistency"]) == (["127.0.0.1"], 9042, "kong", "ONE")


def test_every_typed_property_is_documented_in_the_default_file():
    text = (paths.templates_dir() / "kongpy.conf.default").read_text()
    documented = set(re.findall(r"^#([a-z][a-z0-9_]*) *=", text, re.MULTILINE))
    assert set(conf._TYPES) <= documented
    assert {"prefix", "proxy_listen", "database", "pg_password", "sqlite_path"} <= documented


def test_file_env_and_overrides_in_order(make_conf):
    path = make_conf(log_level="info", admin_workers="3", mem_cache_size="64m")
    env = {"KONG_LOG_LEVEL": "warn", "KONG_ADMIN_WORKERS": "5", "KONGPY_ADMIN_WORKERS": "4"}
    c = conf.load(path, env=env, overrides={"mem_cache_size": "32m"})
    assert c["log_level"] == "warn"          # KONG_ beats the file
    assert c["admin_workers"] == 4           # KONGPY_ beats KONG_
    assert c["mem_cache_size"] == "32m"      # overrides beat everything
    assert c.source == path


def test_env_names_that_are_not_properties_are_ignored(make_conf):
    c = conf.load(make_conf(), env={"KONG_VERSION": "x", "KONGPY_NOPE": "1"})
    assert "version" not in c and "nope" not in c


def test_types_and_unset_values(make_conf):
    c = conf.load(make_conf(real_ip_recursive="on", allow_debug_header="off",
                            trusted_ips="10.0.0.0/8, 127.0.0.1", pg_password="NONE",
                            ssl_ciphers="", db_update_frequency="0.5"), env={})
    assert c["real_ip_recursive"] is True and c["allow_debug_header"] is False
    assert c["trusted_ips"] == ["10.0.0.0/8", "127.0.0.1"]
    assert c["pg_password"] is None and c["ssl_ciphers"] is None
    assert c["db_update_frequency"] == 0.5
    assert c["port_maps"] == []
    c = conf.load(make_conf(port_maps="80:8000, 443:8443"), env={})
    assert c["port_maps"] == ["80:8000", "443:8443"]


def test_comments_in_values(make_conf, workdir):
    path = workdir / "c.conf"
    path.write_text(f"prefix = {workdir}/p   # the prefix\n"
                    "real_ip_header = X-Real\\#IP\n# a comment line\n\n")
    c = conf.load(str(path), env={})
    assert c["prefix"] == f"{workdir}/p"
    assert c["real_ip_header"] == "X-Real#IP"


def test_listeners_parse_flags_and_off(make_conf):
    c = conf.load(make_conf(
        proxy_listen="127.0.0.1:9000 deferred backlog=10, [::1]:9443 ssl http2 reuseport",
        admin_listen="off"), env={})
    first, second = c["proxy_listen"]
    assert first == {"address": "127.0.0.1:9000", "host": "127.0.0.1", "port": 9000,
                     "ssl": False, "http2": False, "flags": "deferred backlog=10"}
    assert (second["host"], second["port"], second["ssl"], second["http2"],
            second["flags"]) == ("::1", 9443, True, True, "reuseport")
    assert c["admin_listen"] == []


@pytest.mark.parametrize("flavor", ["traditional", "traditional_compatible", "expressions"])
def test_router_flavors_available(make_conf, flavor):
    assert conf.load(make_conf(router_flavor=flavor))["router_flavor"] == flavor


def test_dns_order_takes_record_types_in_any_case(make_conf):
    c = conf.load(make_conf(dns_order="aaaa, SRV, Last"), env={})
    assert c["dns_order"] == ["aaaa", "SRV", "Last"]
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(dns_order="A,CXAME,SRV"), env={})
    assert str(info.value) == "dns_order: invalid entry 'CXAME'"


@pytest.mark.parametrize("name,value,fragment", [
    ("proxy_listen", "127.0.0.1:80 sslx", "unknown flag 'sslx'"),
    ("proxy_listen", "localhost", "not a valid address"),
    ("proxy_listen", "127.0.0.1:70000", "not a valid address"),
    ("admin_listen", "127.0.0.1:8444 ssl", "not available yet"),
    ("admin_workers", "two", "not an integer"),
    ("admin_workers", "0", "at least 1"),
    ("config_history_size", "-1", "at least 0"),
    ("config_history_size", "lots", "not an integer"),
    ("log_level", "loud", "not one of"),
    ("database", "mysql", "'mysql' is not one of sqlite, postgres, cassandra, off"),
    ("pg_timeout", "0", "at least 1"),
    ("cassandra_consistency", "MOST", "not one of"),
    ("database", "mysql", "'mysql' is not one of"),
    ("router_flavor", "fancy", "not one of"),
    ("real_ip_recursive", "maybe", "not a boolean"),
    ("trusted_ips", "10.0.0.300", "not an IP address"),
    ("port_maps", "src:dst", "invalid port mapping (`port_maps`): src:dst"),
    ("port_maps", "80:8000, 8443", "invalid port mapping (`port_maps`): 8443"),
    ("port_maps", "0:8000", "invalid port mapping (`port_maps`): 0:8000"),
    ("port_maps", "80:65536", "invalid port mapping (`port_maps`): 80:65536"),
    ("dns_resolver", "dns.example", "not ip[:port]"),
    ("headers", "server_tokens, X-Nope", "unknown header token 'x-nope'"),
    ("headers_upstream", "via", "unknown header token"),
    ("mem_cache_size", "lots", "not a size"),
    ("snapshot_cache_size", "64", "not a size"),
    ("db_update_frequency", "0", "positive"),
    ("error_default_type", "text/csv", "not one of"),
    ("ssl_protocols", "SSLv3", "must list protocols"),
    ("ssl_cipher_suite", "fancy", "not one of"),
    ("ssl_session_timeout", "one day", "not a value such as"),
    ("ssl_session_cache_size", "big", "not a value such as"),
    ("ssl_session_tickets", "maybe", "not a boolean"),
    ("nginx_worker_processes", "many", "not 'auto' or a positive number"),
    ("upstream_keepalive_pool_size", "-1", "at least 0"),
    ("lua_max_req_headers", "0", "must be an integer between 1 and 1000"),
    ("lua_max_resp_headers", "1001", "must be an integer between 1 and 1000"),
    ("lua_max_uri_args", "-5", "must be an integer between 1 and 1000"),
    ("lua_max_post_args", "many", "not an integer"),
    ("pg_port", "x", "not an integer"),
    ("plugins", "off, key-auth", "cannot be combined"),
    ("admin_gui_url", "manager.example:8002", "is not a URL"),
    ("admin_gui_url", "ftp://manager.example", "is not a URL"),
    ("admin_gui_url", "http://user:pw@manager.example", "is not a URL"),
    ("admin_allowed_origins", "https://ui.example/app", "is not an origin"),
    ("admin_allowed_origins", "https://ui.example?x=1", "is not an origin"),
    ("admin_allowed_origins", "https://ui.example:99999", "is not an origin"),
    ("admin_allowed_origins", "null", "is not an origin"),
    ("admin_allowed_origins", "*", "is not an origin"),
    ("admin_server_names", "admin.example:8001", "is not a host name"),
    ("admin_server_names", "http://admin.example", "is not a host name"),
    ("admin_auth", "basic", "is not one of off, token"),
    ("admin_auth_insecure", "maybe", "not a boolean"),
    ("untrusted_lua", "yes", "is not one of off, sandbox, on"),
    ("tracing_instrumentations", "all, dns", "invalid tracing type: dns"),
    ("tracing_instrumentations", "router, off",
     "invalid tracing types: off, other types are mutually exclusive"),
    ("tracing_sampling_rate", "1.5", "tracing_sampling_rate must be between 0 and 1"),
    ("tracing_sampling_rate", "often", "not a number"),
])
def test_validation_names_the_property(make_conf, name, value, fragment):
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(**{name: value}), env={})
    message = str(info.value)
    assert message.startswith(f"invalid value for '{name}': ")
    assert fragment in message


def test_tracing_properties_reach_the_data_plane(make_conf, workdir, monkeypatch):
    from kongpy.render.context import settings

    monkeypatch.chdir(workdir)
    c = conf.load(None, env={})
    assert (c["tracing_instrumentations"], c["tracing_sampling_rate"]) == (["off"], 0.01)
    assert settings(c, "node")["tracing"] == {"instrumentations": [], "sampling_rate": 0.01}
    c = conf.load(make_conf(tracing_instrumentations="Router, balancer",
                            tracing_sampling_rate="0.5"), env={})
    assert settings(c, "node")["tracing"] == {"instrumentations": ["router", "balancer"],
                                              "sampling_rate": 0.5}


def test_validation_from_env_names_the_property(make_conf):
    with pytest.raises(conf.ConfigError, match="invalid value for 'admin_workers'"):
        conf.load(make_conf(), env={"KONGPY_ADMIN_WORKERS": "lots"})


def test_ssl_cert_must_exist(make_conf, workdir):
    key = workdir / "k.pem"
    key.write_text("x")
    missing = str(workdir / "missing.pem")
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(ssl_cert=missing, ssl_cert_key=str(key)), env={})
    # Kong's message (kong/conf_loader/parse.lua)
    assert str(info.value) == f"ssl_cert: failed loading certificate from {missing}"


@pytest.mark.parametrize("certs, keys, message", [
    (1, 0, "ssl_cert_key must be specified"),
    (0, 1, "ssl_cert must be specified"),
    (2, 1, "ssl_cert was specified 2 times while ssl_cert_key was specified 1 times"),
])
def test_ssl_cert_pairs_as_kong(make_conf, workdir, certs, keys, message):
    files = []
    for i in range(2):
        files.append(workdir / f"f{i}.pem")
        files[-1].write_text("x")
    given = {}
    if certs:
        given["ssl_cert"] = ", ".join(str(f) for f in files[:certs])
    if keys:
        given["ssl_cert_key"] = ", ".join(str(f) for f in files[:keys])
    with pytest.raises(conf.ConfigError) as info:
        conf.load(make_conf(**given), env={})
    assert str(info.value) == message


def test_custom_cipher_suite_needs_ciphers(make_conf):
    with pytest.raises(conf.ConfigError, match="invalid value for 'ssl_ciphers'"):
        conf.load(make_conf(ssl_cipher_suite="custom"), env={})


def test_prefix_too_long_for_sockets(make_conf):
    with pytest.raises(conf.ConfigError, match="invalid value for 'prefix'"):
        conf.load(make_conf(prefix="/tmp/" + "x" * 120), env={})


def test_duplicate_listen_address(make_conf):
    with pytest.raises(conf.ConfigError, match="invalid value for 'admin_listen': "
                                               "127.0.0.1:9000 is also in proxy_listen"):
        conf.load(make_conf(proxy_listen="127.0.0.1:9000", admin_listen="127.0.0.1:9000"),
                  env={})


def test_injected_directives_from_file_and_env(make_conf):
    c = conf.load(make_conf(nginx_proxy_large_client_header_buffers="8 24k",
                            nginx_admin_client_max_body_size="10m"),
                  env={"KONGPY_NGINX_HTTP_LUA_REGEX_CACHE_MAX_ENTRIES": "8192",
                       "KONG_NGINX_LOCATION_PROXY_BUFFERING": "off"})
    blocks = c.injected()
    assert ("large_client_header_buffers", "8 24k") in blocks["proxy"]
    assert ("lua_regex_cache_max_entries", "8192") in blocks["http"]
    assert ("client_max_body_size", "0") in blocks["http"]
    assert ("proxy_buffering", "off") in blocks["location"]
    assert set(blocks) == set(conf.INJECT_BLOCKS)  # admin block accepted, not rendered


def test_unknown_property_in_file_is_ignored(make_conf, caplog):
    c = conf.load(make_conf(no_such_thing="1"), env={})
    assert "no_such_thing" not in c
    assert "no_such_thing" in caplog.text


def test_missing_conf_file_is_an_error(workdir):
    with pytest.raises(conf.ConfigError, match="cannot read"):
        conf.load(str(workdir / "missing.conf"), env={})


def test_default_search_path(workdir, monkeypatch):
    second = workdir / "etc-kongpy.conf"
    second.write_text(f"prefix = {workdir}/found\n")
    monkeypatch.setattr(conf, "DEFAULT_PATHS", (str(workdir / "absent.conf"), str(second)))
    assert conf.load(None, env={})["prefix"] == f"{workdir}/found"


def test_redacted_hides_secrets(make_conf):
    c = conf.load(make_conf(pg_password="hunter2", cassandra_password="s3cret"), env={})
    shown = c.redacted()
    assert shown["pg_password"] == "******" and shown["cassandra_password"] == "******"
    assert shown["pg_ro_password"] is None
    assert "hunter2" not in repr(c)
    assert c["pg_password"] == "hunter2"


def test_config_is_a_frozen_mapping(make_conf):
    c = conf.load(make_conf(), env={})
    assert dict(c)["log_level"] == c.log_level == "notice"
    with pytest.raises(TypeError):
        c["log_level"] = "debug"  # type: ignore[index]
    with pytest.raises(AttributeError):
        c.log_level = "debug"


def test_dump_reads_back_identically(make_conf, workdir, monkeypatch):
    c = conf.load(make_conf(trusted_ips="10.0.0.0/8", real_ip_recursive="on",
                            nginx_proxy_add_header="X-A b"),
                  env={"KONGPY_LOG_LEVEL": "debug"})
    saved = workdir / "saved.conf"
    saved.write_text(c.dump())
    monkeypatch.chdir("/")
    again = conf.load(str(saved), env={})
    assert dict(again) == dict(c)
    assert os.path.isabs(again["sqlite_path"])


def test_server_datastores_are_accepted(make_conf):
    c = conf.load(make_conf(database="postgres", pg_schema="kp", pg_timeout="2500"), env={})
    assert (c["database"], c["pg_schema"], c["pg_timeout"]) == ("postgres", "kp", 2500)
    c = conf.load(make_conf(database="cassandra", cassandra_contact_points="10.0.0.1, 10.0.0.2",
                            cassandra_consistency="QUORUM"), env={})
    assert c["cassandra_contact_points"] == ["10.0.0.1", "10.0.0.2"]
    assert (c["database"], c["cassandra_consistency"]) == ("cassandra", "QUORUM")
    assert c["db_update_frequency"] == 1


# -- Admin API security properties ------------------------------------------------------

def test_admin_security_defaults(make_conf):
    c = conf.load(make_conf(), env={})
    assert (c["admin_auth"], c["admin_auth_insecure"]) == ("off", False)
    assert c["admin_gui_url"] == c["admin_allowed_origins"] == c["admin_server_names"] == []


def test_admin_origins_and_names_are_lists(make_conf):
    c = conf.load(make_conf(
        admin_gui_url="http://manager.example:8002/path, https://gui.example",
        admin_allowed_origins="https://ui.example, http://[::1]:3000",
        admin_server_names="admin.example, kong_admin"), env={})
    assert c["admin_gui_url"] == ["http://manager.example:8002/path", "https://gui.example"]
    assert c["admin_allowed_origins"] == ["https://ui.example", "http://[::1]:3000"]
    assert c["admin_server_names"] == ["admin.example", "kong_admin"]


@pytest.mark.parametrize("listen", ["127.0.0.1:8001", "127.0.0.2:8001, [::1]:8444",
                                    "localhost:8001", "off"])
def test_admin_auth_off_on_loopback(make_conf, listen):
    assert conf.load(make_conf(admin_listen=listen), env={})["admin_auth"] == "off"


@pytest.mark.parametrize("listen", ["0.0.0.0:8001", "[::]:8001", "10.0.0.5:8001",
                                    "127.0.0.1:8001, admin.example:8444"])
def test_admin_auth_off_refused_off_loopback(make_conf, listen):
    path = make_conf(admin_listen=listen)
    with pytest.raises(conf.ConfigError) as info:
        conf.load(path, env={})
    message = str(info.value)
    assert message.startswith("invalid value for 'admin_auth': off is refused while "
                              "admin_listen has a non-loopback address")
    assert "admin_auth_insecure = on" in message and "\n" not in message
    # Accepted with a token, or when the operator insists; commands that only
    # look for the prefix never refuse it.
    assert conf.load(path, env={"KONGPY_ADMIN_AUTH": "token"})["admin_auth"] == "token"
    assert conf.load(path, env={"KONG_ADMIN_AUTH_INSECURE": "on"})["admin_auth_insecure"]
    assert conf.load(path, env={}, enforce=False)["admin_auth"] == "off"


# Kong's conf_loader: `off` first turns every header off; elsewhere it is
# ignored; any other unknown token is refused.
@pytest.mark.parametrize("value, headers, admin_flags", [
    ("off", [], (False, False)),
    ("off, server_tokens", [], (False, False)),
    ("server_tokens, off", ["server_tokens"], (True, False)),
    ("latency_tokens, OFF, X-Kong-Request-Id", ["latency_tokens", "X-Kong-Request-Id"],
     (False, True)),
    ("server, X-Kong-Admin-Latency", ["server", "X-Kong-Admin-Latency"], (True, True)),
    ("via, x-kong-upstream-latency", ["via", "x-kong-upstream-latency"], (False, False)),
])
def test_headers_mixing_off_with_tokens(make_conf, value, headers, admin_flags):
    c = conf.load(make_conf(headers=value, headers_upstream="off, X-Kong-Request-Id"), env={})
    assert c["headers"] == headers
    assert c["headers_upstream"] == []
    assert conf.admin_headers(c) == admin_flags


def test_untrusted_lua_lists(make_conf):
    c = conf.load(make_conf(untrusted_lua="off",
                            untrusted_lua_sandbox_requires="resty.http, kong.tools.string",
                            untrusted_lua_sandbox_environment="os.getenv,ngx.shared"), env={})
    assert c["untrusted_lua"] == "off"
    assert c["untrusted_lua_sandbox_requires"] == ["resty.http", "kong.tools.string"]
    assert c["untrusted_lua_sandbox_environment"] == ["os.getenv", "ngx.shared"]
