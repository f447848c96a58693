"""Config → the plain values templates and the data plane consume.

Every decision about nginx.conf is made here, so the templates stay dumb
(docs/contracts.md §3 and §4).
"""
from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import resource
from pathlib import Path
from typing import Any

import kongpy
from kongpy import paths, plugins, sslconf, tracingconf
from kongpy.conf import Config, port_map
from kongpy.errors import ConfigError
from kongpy.render import status, stream, upstream_tls
from kongpy.schemas import CORE_ENTITIES, EntitySchema

RESOLV_CONF = "/etc/resolv.conf"
# The self-signed default pairs (key type, certificate, key) made when
# ssl_cert is unset, as Kong makes an RSA and an ECDSA one.
DEFAULT_PAIRS = (("rsa", "kongpy-default-rsa.crt", "kongpy-default-rsa.key"),
                 ("ec", "kongpy-default.crt", "kongpy-default.key"))
_AUTO_LIMIT = 16384
_FALLBACK_RESOLVER = "127.0.0.1:53"

# Rendered from dedicated context names rather than injected as-is.
_CONTEXT_DIRECTIVES = {("http", "client_body_buffer_size"), ("main", "worker_rlimit_nofile"),
                       ("events", "worker_connections")}


def _in_prefix(config: Config, value: str) -> str:
    return value if os.path.isabs(value) else os.path.join(config["prefix"], value)


def enabled_plugins(config: Config) -> list[str]:
    return plugins.enabled_names(config)


def plugin_phases(config: Config) -> list[str]:
    """The phases some enabled plugin's handler implements.

    nginx.conf installs a phase handler only for these, so a node without
    plugins keeps the plugin-free request path.
    """
    found: set[str] = set()
    for plugin in plugins.load(config).values():
        found.update(plugin.spec.phases)
    if "log" in found:
        # the log object's receive time ends in the body filter (Kong's
        # KONG_BODY_FILTER_ENDED_AT)
        found.add("body_filter")
    return [p for p in plugins.PHASES if p in found]


def system_resolvers(resolv_conf: str = RESOLV_CONF) -> list[str]:
    """Nameservers of resolv.conf as `ip:port` (never empty)."""
    found: list[str] = []
    try:
        lines = Path(resolv_conf).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            address = parts[1].split("%")[0]
            found.append(f"[{address}]:53" if ":" in address else f"{address}:53")
    return found or [_FALLBACK_RESOLVER]


def dns_resolvers(config: Config) -> list[str]:
    if not config["dns_resolver"]:
        return system_resolvers()
    result = []
    for entry in config["dns_resolver"]:
        bracketed = entry.startswith("[")
        has_port = entry.rsplit("]", 1)[-1].count(":") == 1 if bracketed \
            else entry.count(":") == 1
        if has_port:
            result.append(entry)
        else:
            result.append(f"{entry}:53" if ":" not in entry else f"[{entry}]:53")
    return result


def _auto_limit(value: str) -> str:
    if value != "auto":
        return value
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return str(_AUTO_LIMIT)
    return str(max(1024, min(soft, _AUTO_LIMIT)))


def injected(config: Config) -> dict[str, list[dict[str, str]]]:
    blocks: dict[str, list[dict[str, str]]] = {}
    for block, directives in config.injected().items():
        blocks[block] = [{"name": name, "value": value} for name, value in directives
                         if (block, name) not in _CONTEXT_DIRECTIVES]
    return blocks


def ssl_files(config: Config) -> list[dict[str, str]]:
    """The default certificates of the TLS listeners: ``{cert, key}`` paths."""
    if config["ssl_cert"]:
        return [{"cert": c, "key": k} for c, k in zip(config["ssl_cert"], config["ssl_cert_key"])]
    ssl_dir = paths.prefix(config["prefix"]).ssl
    return [{"cert": str(ssl_dir / cert), "key": str(ssl_dir / key)}
            for _, cert, key in DEFAULT_PAIRS]


def _listeners(listeners: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"address": item["address"], "ssl": item["ssl"], "http2": item["http2"],
             "flags": item["flags"]} for item in listeners]


# The workers' identity when a node is started as root and `nginx_user` is
# unset (Kong's default is `kong kong`); scripts/setup.sh creates it.
RUNTIME_USER = "kongpy"
# Where the workers' temp folders live when they run as another user than the
# one who starts the node: the prefix itself stays private to that user.
RUNTIME_ROOT = Path("/var/lib/kongpy")


def nginx_user(config: Config) -> str | None:
    """The `user` directive's value, or None to leave it out (workers keep the
    identity of a node started by an unprivileged user)."""
    if config.get("nginx_user"):
        return config["nginx_user"]
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUNTIME_USER)
    except KeyError:
        raise ConfigError(
            f"nginx_user: there is no user '{RUNTIME_USER}' to run the nginx workers as "
            "(scripts/setup.sh creates it); create it or set nginx_user",
            prop="nginx_user") from None
    return f"{RUNTIME_USER} {RUNTIME_USER}"


def worker_ids(config: Config) -> tuple[int, int] | None:
    """(uid, gid) of the workers when they differ from the process rendering."""
    value = nginx_user(config)
    if value is None or os.geteuid() != 0:
        return None
    user, _, group = value.partition(" ")
    try:
        entry = pwd.getpwnam(user)
        gid = grp.getgrnam(group.strip() or user).gr_gid
    except KeyError as exc:
        raise ConfigError(f"nginx_user: no such user or group: {exc.args[0]}",
                          prop="nginx_user") from None
    if entry.pw_uid == os.geteuid():
        return None
    return entry.pw_uid, gid


def temp_root(config: Config, node_id: str) -> str:
    """The folder holding nginx's temp folders (request bodies, buffered responses)."""
    if worker_ids(config) is None:
        return str(paths.prefix(config["prefix"]).root)
    return str(RUNTIME_ROOT / node_id)


def stream_dir(config: Config) -> Path:
    """The stream workers' folder (docs/streams.md): in their temp root, which
    their group may enter when they run as another user (the prefix may sit
    where they cannot)."""
    layout = paths.prefix(config["prefix"])
    return Path(temp_root(config, _known_node_id(layout))) / "stream"


def stream_snapshot_target(config: Config) -> tuple[Path, int | None]:
    """Where the stream snapshot goes, and the group that must read it (None
    when the workers run as the writing user)."""
    ids = worker_ids(config)
    return stream_dir(config) / stream.SNAPSHOT, ids[1] if ids else None


def write_socket_target(config: Config) -> tuple[Path, int | None]:
    """The write channel's socket (docs/contracts.md §9), and the group of
    the workers that connect to it (None when they run as the serving user:
    then it sits in the owner-only sockets folder)."""
    layout = paths.prefix(config["prefix"])
    ids = worker_ids(config)
    if ids is None:
        return layout.sockets / WRITE_SOCKET, None
    return Path(temp_root(config, _known_node_id(layout))) / "writes" / WRITE_SOCKET, ids[1]


RATELIMIT_PLUGINS = ("rate-limiting", "response-ratelimiting")
RATELIMIT_DICT_SIZE = "12m"
# Health of upstream addresses (kongpy.health): Kong's kong_healthchecks size.
HEALTH_DICT_SIZE = "5m"
# rows the data plane wrote, until the configuration carries them (dpwrite.lua)
WRITES_DICT_SIZE = "5m"
WRITE_SOCKET = "write.sock"


def ratelimit_dicts(config: Config) -> list[dict[str, str]]:
    """``kongpy_ratelimit``: the counters of the rate-limiting plugins' local policy."""
    if not set(RATELIMIT_PLUGINS) & set(enabled_plugins(config)):
        return []
    return [{"name": "kongpy_ratelimit", "size": RATELIMIT_DICT_SIZE}]


def proxy_cache_dicts(config: Config) -> list[dict[str, str]]:
    """``kong_db_cache``, Kong's dictionary and proxy-cache's default store
    (``memory.dictionary_name``), sized as Kong sizes it: ``mem_cache_size``."""
    if "proxy-cache" not in enabled_plugins(config):
        return []
    return [{"name": "kong_db_cache", "size": config.get("mem_cache_size")}]


# Kong's own dictionaries that plugins written for Kong use directly
# (ngx.shared.kong; resty.lock on kong_locks), with Kong's sizes
KONG_DICTS = (("kong", "5m"), ("kong_locks", "8m"))


def kong_dicts(config: Config) -> list[dict[str, str]]:
    """``kong`` and ``kong_locks``, unless an injected
    ``nginx_http_lua_shared_dict`` declares one of them (with its own size)."""
    injected = config.injected().get("http", []) if hasattr(config, "injected") else []
    declared = {str(value).split()[0] for directive, value in injected
                if directive == "lua_shared_dict" and str(value).split()}
    return [{"name": name, "size": size} for name, size in KONG_DICTS if name not in declared]


def shared_dicts(config: Config) -> list[dict[str, str]]:
    """The ``lua_shared_dict`` blocks nginx.conf defines (injected ones aside).

    ``config`` may be a bare mapping (the Admin API's in unit tests): sizes
    then read as None, names are what such callers want."""
    return [{"name": "kongpy_snapshot", "size": config.get("snapshot_cache_size")},
            {"name": "kongpy_cache", "size": config.get("mem_cache_size")},
            {"name": "kongpy_health", "size": HEALTH_DICT_SIZE},
            {"name": "kongpy_writes", "size": WRITES_DICT_SIZE},
            *kong_dicts(config), *ratelimit_dicts(config), *proxy_cache_dicts(config),
            *(status.prometheus_dicts(config) if hasattr(config, "injected") else [])]


def shared_dict_names(config: Config) -> list[str]:
    """Every shared dictionary of the node's nginx, the ones injected with
    ``nginx_http_lua_shared_dict`` included: what the workers find in
    ``ngx.shared``, for the validations that run outside them."""
    names = [d["name"] for d in shared_dicts(config)]
    blocks = config.injected() if hasattr(config, "injected") else {}
    for name, value in blocks.get("http", []):
        if name == "lua_shared_dict" and str(value).split():
            names.append(str(value).split()[0])
    return names


_ALL_NETS = ("0.0.0.0/0", "::/0")


def trusted_geo(config: Config) -> list[dict[str, Any]]:
    """``trusted_ips`` as the entries of ``geo $realip_remote_addr $kongpy_trusted_ip``.

    Always starts with the two catch-all networks (1 when listed, else 0), so
    the block needs no ``default``; then every other network once, normalised
    (``10.1.2.3/8`` → ``10.0.0.0/8``) so nginx has nothing to warn about.
    ``unix:`` and entries the data plane's matcher would skip are left out.
    """
    nets: list[str] = []
    for item in config["trusted_ips"] or []:
        if item.startswith("["):
            item = item.replace("[", "").replace("]", "")
        try:
            net = str(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
        if net not in nets:
            nets.append(net)
    return ([{"net": n, "value": 1 if n in nets else 0} for n in _ALL_NETS]
            + [{"net": n, "value": 1} for n in nets if n not in _ALL_NETS])


_VIA_PROTOCOLS = {"HTTP/1.0": "1", "HTTP/2.0": "2", "HTTP/3.0": "3"}


def via_tokens(version: str) -> dict[str, Any]:
    """The Via entries the gateway adds: per request protocol upstream, fixed downstream.

    The version part is what the data plane's ``ngx.req.http_version()`` prints
    (``1``, ``1.1``, ``2``, ``3``); anything else gets ``1.1``.
    """
    server = f"kongpy/{version}"
    return {"by_protocol": [{"protocol": proto, "value": f"{v} {server}"}
                            for proto, v in _VIA_PROTOCOLS.items()],
            "default": f"1.1 {server}"}


# Kong's header tokens and the headers each governs (lua/kongpy/settings.lua
# expands them the same way for the Lua side)
_HEADER_GROUPS = {
    "server_tokens": ("server", "via"),
    "latency_tokens": ("x-kong-proxy-latency", "x-kong-response-latency",
                       "x-kong-upstream-latency"),
}
# The response headers location / has nginx add (add_header) rather than its
# Lua header filter, each with its name as sent and the variable it comes from.
_NGINX_ADDED = {
    "x-kong-upstream-latency": ("X-Kong-Upstream-Latency", "$kongpy_upstream_latency"),
    "x-kong-proxy-latency": ("X-Kong-Proxy-Latency", "$kongpy_proxy_latency"),
    "via": ("Via", "$kongpy_resp_via"),
    "x-kong-request-id": ("X-Kong-Request-Id", "$kongpy_request_id"),
}


def nginx_headers(config: Config) -> list[str]:
    """The enabled headers of `_NGINX_ADDED` (lower case) nginx adds in location /.

    None when an ``add_header`` or ``proxy_hide_header`` is injected at the
    http or proxy server level: nginx inherits neither into a location that
    has its own.
    """
    blocks = config.injected() if hasattr(config, "injected") else {}
    if any(name in ("add_header", "proxy_hide_header")
           for block in ("http", "proxy") for name, _ in blocks.get(block, [])):
        return []
    tokens = {t.lower() for t in config["headers"]}
    if "off" in tokens:
        return []
    enabled = set(tokens)
    for token, names in _HEADER_GROUPS.items():
        if token in tokens:
            enabled.update(names)
    return [h for h in _NGINX_ADDED if h in enabled]


def nginx_header_directives(names: list[str]) -> list[dict[str, str]]:
    """location /'s add_header for each of `names` (nginx_headers): the name
    as sent and the variable its value comes from."""
    return [{"name": _NGINX_ADDED[h][0], "value": _NGINX_ADDED[h][1]} for h in names]


def template_context(config: Config, node_id: str,
                     settings_file: str | None = None) -> dict[str, Any]:
    """The template context of contracts.md §4 (plain values only)."""
    prefix = paths.prefix(config["prefix"])
    access_log = config["proxy_access_log"] or "off"
    return {
        "prefix": str(prefix.root),
        "worker_processes": config["nginx_worker_processes"],
        "nginx_user": nginx_user(config),
        "temp_root": temp_root(config, node_id),
        "log_level": config["log_level"],
        "error_log": _in_prefix(config, config["proxy_error_log"] or "logs/error.log"),
        "access_log": "off" if access_log == "off" else _in_prefix(config, access_log),
        "pid_file": str(prefix.pid_file("nginx")),
        "lua_package_path": plugins.lua_package_path(config),
        "lua_package_cpath": plugins.lua_package_cpath(config),
        "settings_file": settings_file or str(prefix.settings_file),
        "control_socket": str(prefix.control_socket),
        "proxy_listeners": _listeners(config["proxy_listen"]),
        **stream.template_context(config, stream_dir(config)),
        # stream services whose host is a name: nginx's resolver
        "stream_resolvers": dns_resolvers(config) if config["stream_listen"] else [],
        "ssl_certificates": ssl_files(config),
        "ssl": sslconf.proxy_tls(config),
        "shared_dicts": shared_dicts(config),
        **status.template_context(config, ssl_files(config)),
        "upstream_keepalive_pool_size": config["upstream_keepalive_pool_size"],
        "upstream_keepalive_max_requests": config["upstream_keepalive_max_requests"],
        "upstream_keepalive_idle_timeout": config["upstream_keepalive_idle_timeout"],
        **upstream_tls_context(config),
        "real_ip_from": list(config["trusted_ips"]),
        "trusted_geo": trusted_geo(config),
        "trusted_unix": "unix:" in (config["trusted_ips"] or []),
        "forwarded": forwarded_values(config),
        "via": via_tokens(kongpy.__version__),
        "nginx_headers": nginx_header_directives(nginx_headers(config)),
        "upstream_request_id": "x-kong-request-id" in [
            h.lower() for h in config["headers_upstream"]],
        "real_ip_header": config["real_ip_header"] or "X-Real-IP",
        "real_ip_recursive": config["real_ip_recursive"],
        "client_body_buffer_size": config.get("nginx_http_client_body_buffer_size") or "8k",
        "injected": injected(config),
        "worker_rlimit_nofile": _auto_limit(
            config.get("nginx_main_worker_rlimit_nofile") or "auto"),
        "worker_connections": _auto_limit(
            config.get("nginx_events_worker_connections") or "auto"),
        "node_id": node_id,
        "kong_version": kongpy.KONG_VERSION,
        "kongpy_version": kongpy.__version__,
        "plugins": enabled_plugins(config),
        "plugin_phases": plugin_phases(config),
        "port_maps": [{"kong_port": k, "host_port": h}
                      for k, h in sorted(port_map(config).items())],
    }


def forwarded_values(config: Config) -> dict[str, str]:
    """What the X-Forwarded-Proto/Host/Port/Path/Prefix headers to the
    upstream are made of. With a trusted peer possible, the maps of
    nginx_kongpy.conf.j2 choose between the client's values and the
    gateway's own; with none trusted (the default), the gateway's own are
    always the answer, so the headers name nginx's variables directly and
    no map runs for them (two map lookups each per request otherwise).
    """
    trusted = "unix:" in (config["trusted_ips"] or []) or any(
        e["value"] == 1 for e in trusted_geo(config))
    if trusted:
        return {k: f"$kongpy_x_forwarded_{k}" for k in ("proto", "host", "port", "path", "prefix")}
    return {"proto": "$scheme", "host": "$host",
            "port": "$kongpy_host_port" if port_map(config) else "$server_port",
            "path": "$upstream_x_forwarded_path", "prefix": "$upstream_x_forwarded_prefix"}


def _known_node_id(layout: paths.Prefix) -> str:
    """The node's id when it has one (a start renders after creating it); a
    render that only prints must not create the prefix."""
    try:
        return layout.node_id_file.read_text().strip()
    except OSError:
        return "<node_id>"


def _upstream_tls(config: Config) -> tuple[str | None, list[dict[str, Any]], int]:
    layout = paths.prefix(config["prefix"])
    ssl_dir = layout.ssl
    bundle = upstream_tls.bundle_path(
        upstream_tls.trusted_files(config["lua_ssl_trusted_certificate"]),
        Path(temp_root(config, _known_node_id(layout))))
    combined = str(bundle) if bundle else None
    depth = config["lua_ssl_verify_depth"]
    return combined, upstream_tls.profiles(ssl_dir, combined, depth), depth


def upstream_tls_context(config: Config) -> dict[str, Any]:
    """lua_ssl_* and the upstream TLS profiles (docs/upstream-tls.md)."""
    combined, profiles, depth = _upstream_tls(config)
    pools = upstream_tls.POOLS if config["upstream_keepalive_pool_size"] > 0 else 0
    return {"lua_ssl_trusted_certificate": combined or "", "lua_ssl_verify_depth": depth,
            "upstream_tls_profiles": profiles, "upstream_tls_pools": pools}


def trusted_ips(config: Config) -> list[str]:
    """``trusted_ips`` as the data plane's kong.ip.is_trusted reads them: the
    networks of :func:`trusted_geo` that are trusted, then ``unix:`` if listed."""
    nets = [e["net"] for e in trusted_geo(config) if e["value"] == 1]
    return nets + (["unix:"] if "unix:" in (config["trusted_ips"] or []) else [])


def _entity_facts(schema: type[EntitySchema]) -> dict[str, Any]:
    return {"unique": list(schema.unique_fields),
            "cache_key": list(schema.cache_key or schema.kong_cache_key),
            "foreign": sorted(schema.foreign_fields()),
            "ttl": schema.uses_ttl}


def entity_facts(config: Config) -> dict[str, dict[str, Any]]:
    """What kong.db needs of each entity the snapshot may carry: its unique
    fields (``select_by_*``), cache key fields, foreign keys and ttl."""
    found = {name: _entity_facts(schema) for name, schema in CORE_ENTITIES.items()}
    for plugin in plugins.load(config).values():
        for schema in plugin.entities:
            found[schema.entity_name] = _entity_facts(schema)
    return found


def configuration(config: Config) -> dict[str, Any]:
    """kong.configuration: the node's properties, secrets replaced by ``******``
    (as Kong's ``remove_sensitive`` does), Kong's ``role``. ``plugins`` stays
    as configured (``bundled`` unexpanded, as in Kong); ``loaded_plugins``
    holds the expansion, as Kong's does (name -> true)."""
    values = config.redacted()
    values["loaded_plugins"] = {name: True for name in enabled_plugins(config)}
    values["role"] = "traditional"
    # Kong's derived host_ports (JSON keys are strings; Lua adds number keys)
    values["host_ports"] = {str(k): v for k, v in port_map(config).items()}
    return values


def settings(config: Config, node_id: str) -> dict[str, Any]:
    """The data-plane settings file of contracts.md §3."""
    prefix = paths.prefix(config["prefix"])
    return {
        "kongpy_version": kongpy.__version__,
        "kong_version": kongpy.KONG_VERSION,
        "node_id": node_id,
        "trusted_ips": trusted_ips(config),
        "configuration": configuration(config),
        "entities": entity_facts(config),
        "snapshot_path": str(prefix.snapshot_file),
        **stream.settings(config, stream_dir(config)),
        # the default certificate of the stream TLS server
        "ssl_certificates": ssl_files(config),
        "control_token_file": str(prefix.control_token_file),
        "write_socket": str(write_socket_target(config)[0]),
        "dp_writable": sorted(plugins.DATA_PLANE_WRITES),
        "headers": [h.lower() for h in config["headers"]],
        "nginx_headers": nginx_headers(config),
        "error_default_type": config["error_default_type"],
        "allow_debug_header": config["allow_debug_header"],
        "tracing": tracingconf.settings(config),
        "router_flavor": config["router_flavor"],
        "dns_resolver": dns_resolvers(config),
        "dns_hostsfile": config["dns_hostsfile"] or "/etc/hosts",
        "syslog_socket": config["syslog_socket"] or "/dev/log",
        "dns_order": [t.upper() for t in config["dns_order"]] or ["LAST", "SRV", "A", "CNAME"],
        "plugins": enabled_plugins(config),
        "upstream_tls": upstream_tls.settings(
            _upstream_tls(config)[1], config["lua_ssl_verify_depth"],
            upstream_tls_context(config)["upstream_tls_pools"]),
    }
