"""The node configuration: kongpy.conf + environment, typed and validated.

This module is the only reader of the conf file. Defaults come from
`templates/kongpy.conf.default`, so the documented defaults and the effective
ones cannot drift apart.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kongpy import adminsec, dbconf, guiconf, paths, sslconf, streamconf, tracingconf
from kongpy.errors import ConfigError

__all__ = ["Config", "ConfigError", "find_conf_file", "is_known", "load", "read_file"]

log = logging.getLogger(__name__)

DEFAULT_PATHS = ("/etc/kongpy/kongpy.conf", "/etc/kongpy.conf")
ENV_PREFIXES = ("KONGPY_", "KONG_")
INJECT_BLOCKS = ("main", "events", "http", "upstream", "proxy", "location",
                 "stream", "sproxy", "supstream")
# Kong blocks we have no server for yet: accepted (a kong.conf keeps loading)
# but not rendered.
IGNORED_BLOCKS = ("admin", "status", "kong", "sstream")
LISTEN_FLAGS = ("ssl", "http2", "proxy_protocol", "deferred", "bind", "reuseport")
LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")
HEADER_TOKENS = ("server_tokens", "latency_tokens", "via", "server",
                 "x-kong-proxy-latency", "x-kong-upstream-latency",
                 "x-kong-response-latency", "x-kong-admin-latency",
                 "x-kong-upstream-status", "x-kong-request-id")
UPSTREAM_HEADER_TOKENS = ("x-kong-request-id",)
# Kong's defaults of the request/response parsers the PDK and plugins use
LUA_MAX = ("lua_max_req_headers", "lua_max_resp_headers", "lua_max_uri_args",
           "lua_max_post_args")
# `headers` of a configuration loaded without conf.load (templates/kongpy.conf.default)
_DEFAULT_HEADERS = ("server_tokens", "latency_tokens", "x-kong-request-id")
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the NUL).
_LONGEST_SOCKET_NAME = len("/sockets/control.sock")
_MAX_PREFIX_LEN = 107 - _LONGEST_SOCKET_NAME

_BOOL = {"on": True, "off": False, "true": True, "false": False, "yes": True, "no": False}
_SECRET_WORDS = ("password", "secret")
_INJECT_RE = re.compile(r"^nginx_(%s)_([a-z0-9_]+)$" % "|".join(INJECT_BLOCKS + IGNORED_BLOCKS))
_DEFAULT_LINE_RE = re.compile(r"^#([a-z][a-z0-9_]*)\s*=\s*(.*)$")
_LINE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$")
_DNS_ORDER = ("LAST", "SRV", "A", "AAAA", "CNAME")
_SIZE_RE = re.compile(r"^\d+[kKmM]$")

_TYPES: dict[str, str] = {
    "prefix": "path", "admin_workers": "int", "db_update_frequency": "float",
    "plugins": "list", "headers": "list", "headers_upstream": "list", "trusted_ips": "list",
    "port_maps": "list", "real_ip_recursive": "bool", "allow_debug_header": "bool",
    "upstream_keepalive_pool_size": "int", "upstream_keepalive_max_requests": "int",
    "upstream_keepalive_idle_timeout": "int", "dns_resolver": "list",
    "lua_ssl_trusted_certificate": "list", "lua_ssl_verify_depth": "int", "dns_order": "list",
    "proxy_listen": "listeners", "admin_listen": "listeners", "status_listen": "listeners",
    "stream_listen": "stream_listeners",
    "admin_gui_url": "list", "admin_allowed_origins": "list", "admin_server_names": "list",
    "admin_auth_insecure": "bool", "config_history_size": "int",
    "lua_max_req_headers": "int", "lua_max_resp_headers": "int",
    "lua_max_uri_args": "int", "lua_max_post_args": "int",
    "untrusted_lua_sandbox_requires": "list", "untrusted_lua_sandbox_environment": "list",
    # kongpy extension: the syslog plugin's local socket (Kong's syslog(3) uses /dev/log)
    "syslog_socket": "path",
    **dbconf.TYPES, **sslconf.TYPES, **tracingconf.TYPES, **guiconf.TYPES,
}
_ENUMS: dict[str, tuple[str, ...]] = {
    "log_level": LOG_LEVELS,
    "error_default_type": ("text/plain", "text/html", "application/json", "application/xml"),
    "untrusted_lua": ("off", "sandbox", "on"),
    **sslconf.ENUMS, **dbconf.ENUMS,
}
_NOT_YET: dict[str, tuple[str, ...]] = {"database": (), "router_flavor": ()}
_AVAILABLE = {"database": ("sqlite", "postgres", "cassandra", "off"),
              "router_flavor": ("traditional", "traditional_compatible", "expressions")}


class Config(Mapping):
    """Frozen, typed node configuration: property name → value (None = unset)."""

    def __init__(self, values: Mapping[str, Any], raw: Mapping[str, str],
                 source: str | None) -> None:
        self._values = MappingProxyType(dict(values))
        self._raw = MappingProxyType(dict(raw))
        self.source = source

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_values", "_raw", "source") and name not in self.__dict__:
            object.__setattr__(self, name, value)
            return
        raise AttributeError("Config is read-only")

    def __repr__(self) -> str:
        return f"Config({self.redacted()!r})"

    def injected(self) -> dict[str, list[tuple[str, str]]]:
        """nginx directives to inject: block → [(directive, value)], sorted."""
        blocks: dict[str, list[tuple[str, str]]] = {b: [] for b in INJECT_BLOCKS}
        for name in sorted(self._values):
            match = _INJECT_RE.match(name)
            value = self._values[name]
            if match and match.group(1) in blocks and value is not None:
                blocks[match.group(1)].append((match.group(2), value))
        return blocks

    def references(self) -> dict[str, str]:
        """The properties given as vault references: name → the reference."""
        from kongpy.secrets import is_reference

        return {k: v.strip() for k, v in self._raw.items() if is_reference(v.strip())}

    def redacted(self) -> dict[str, Any]:
        """A plain copy safe to log or show: secrets replaced by `******`, other
        properties given as vault references shown as the reference (Kong's
        ``remove_sensitive``)."""
        refs = self.references()
        return {k: ("******" if _is_secret(k) and v is not None else refs.get(k, v))
                for k, v in self._values.items()}

    def dump(self) -> str:
        """The configuration as a conf file that `load` reads back identically."""
        lines = [f"{name} = {self._raw[name]}" for name in sorted(self._raw)]
        return "\n".join(lines) + "\n"


def _is_secret(name: str) -> bool:
    return any(word in name for word in _SECRET_WORDS)


def is_known(name: str) -> bool:
    return name in _defaults() or bool(_INJECT_RE.match(name))


def _defaults() -> dict[str, str]:
    cached = getattr(_defaults, "_cache", None)
    if cached is None:
        text = (paths.templates_dir() / "kongpy.conf.default").read_text()
        cached = {}
        for line in text.splitlines():
            match = _DEFAULT_LINE_RE.match(line)
            if match:
                cached[match.group(1)] = _strip_comment(match.group(2))
        _defaults._cache = cached  # type: ignore[attr-defined]
    return dict(cached)


def _strip_comment(value: str) -> str:
    # `#` starts a comment unless escaped as `\#`.
    value = re.split(r"(?<!\\)#", value, maxsplit=1)[0]
    return value.replace("\\#", "#").strip()


def read_file(path: str) -> dict[str, str]:
    """Raw `name = value` pairs of a conf file (names lower-cased)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError.invalid("conf", f"cannot read {path}: {exc.strerror or exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE_RE.match(stripped)
        if not match:
            raise ConfigError.invalid("conf", f"{path}:{number}: expected 'name = value'")
        values[match.group(1).lower()] = _strip_comment(match.group(2))
    return values


def find_conf_file(path: str | None) -> str | None:
    if path:
        return path
    for candidate in DEFAULT_PATHS:
        if os.path.isfile(candidate):
            return candidate
    return None


def load(path: str | None = None, env: Mapping | None = None,
         overrides: Mapping | None = None, enforce: bool = True,
         vault_env: Mapping | None = None) -> Config:
    """Loads defaults < conf file < environment < overrides into a Config.

    ``enforce``: also refuse settings that are well-formed but unsafe to run
    (an Admin API without authentication off loopback). Commands that only
    need the prefix, such as ``stop``, pass False.

    A value given as a vault reference (``{vault://env/PG_PASS}``) is resolved
    from ``vault_env`` (the process environment by default); the Config keeps
    the reference too (:meth:`Config.redacted`, :meth:`Config.dump` show it).
    """
    env = os.environ if env is None else env
    source = find_conf_file(path)
    raw = _defaults()
    given: dict[str, str] = {}
    if source:
        for name, value in read_file(source).items():
            if is_known(name):
                given[name] = value
            else:
                log.warning("unknown property '%s' in %s ignored", name, source)
    given.update(_from_env(env))
    for name, value in (overrides or {}).items():
        given[name] = "" if value is None else str(value)
    if "prefix" not in given and os.geteuid() != 0:
        # /usr/local is root's: another user's node lives in its home
        raw["prefix"] = os.path.join(os.path.expanduser("~"), ".kongpy")
    raw.update(given)
    resolved = _dereference(raw, os.environ if vault_env is None else vault_env)
    values, errors = _convert_all(resolved)
    _validate(values, errors)
    if enforce:
        adminsec.check_exposure(values)
    if values.get("sqlite_path"):
        values["sqlite_path"] = os.path.join(values["prefix"], values["sqlite_path"])
    if values.get("declarative_config"):
        values["declarative_config"] = os.path.abspath(values["declarative_config"])
    # Resolved paths are kept so the saved copy reads the same from any cwd.
    for name in ("prefix", "ssl_cert", "ssl_cert_key", "sqlite_path", "declarative_config"):
        if values.get(name) and resolved[name] == raw[name]:
            value = values[name]
            raw[name] = ", ".join(value) if isinstance(value, list) else value
    return Config(values, raw, source)


def _dereference(raw: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """``raw`` with each vault reference replaced by its value (Kong resolves
    every property; only the ``env`` vault exists before the datastore)."""
    from kongpy.secrets import Resolver, is_reference

    out = dict(raw)
    resolver = None
    for name, value in raw.items():
        if name == "vault_env_prefix" or not is_reference(value.strip()):
            continue
        if resolver is None:
            prefix = raw.get("vault_env_prefix") or None
            resolver = Resolver(environ, env_prefix=prefix)
        try:
            out[name] = resolver.resolve(value.strip())
        except ValueError as exc:
            raise ConfigError(f"cannot resolve the vault reference of '{name}': {exc}",
                              prop=name) from None
    return out


def _from_env(env: Mapping) -> dict[str, str]:
    found: dict[str, str] = {}
    # KONG_ first so KONGPY_ overwrites it.
    for env_prefix in reversed(ENV_PREFIXES):
        for key, value in env.items():
            if not key.startswith(env_prefix):
                continue
            name = key[len(env_prefix):].lower()
            if is_known(name):
                found[name] = value
    return found


def _unset(value: str) -> bool:
    return value.strip() == "" or value.strip().upper() == "NONE"


def _joined(errors: list[ConfigError]) -> ConfigError:
    """Every error found, one a line (as Kong's conf loader reports them all)."""
    if len(errors) == 1:
        return errors[0]
    return ConfigError("\n".join(e.message for e in errors), prop=errors[0].property)


def _convert_all(resolved: Mapping[str, str]) -> tuple[dict[str, Any], list[ConfigError]]:
    """The typed values, without those that cannot be converted, and why."""
    values: dict[str, Any] = {}
    errors: list[ConfigError] = []
    for name, value in resolved.items():
        try:
            values[name] = _convert(name, value)
        except ConfigError as exc:
            errors.append(exc)
    return values, errors


def _convert(name: str, value: str) -> Any:
    kind = _TYPES.get(name, "str")
    if _unset(value):
        return [] if kind in ("list", "listeners", "stream_listeners") else None
    value = value.strip()
    try:
        return _CONVERTERS[kind](value)
    except ValueError as exc:
        raise ConfigError.invalid(name, str(exc)) from None


def _to_bool(value: str) -> bool:
    try:
        return _BOOL[value.lower()]
    except KeyError:
        raise ValueError(f"'{value}' is not a boolean (on/off)") from None


def _to_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"'{value}' is not an integer") from None


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"'{value}' is not a number") from None


def _to_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _to_path(value: str) -> str:
    return os.path.abspath(os.path.expanduser(value))


def _to_listeners(value: str) -> list[dict[str, Any]]:
    if value.lower() == "off":
        return []
    return [_parse_listener(item) for item in _to_list(value)]


def _parse_listener(item: str) -> dict[str, Any]:
    address, *flags = item.split()
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{address}' is not a valid address (expected host:port)")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"'{address}' is not a valid address")
    extra: list[str] = []
    result = {"address": address, "host": host.strip("[]"), "port": int(port),
              "ssl": False, "http2": False}
    for flag in flags:
        if flag in ("ssl", "http2"):
            result[flag] = True
        elif flag in LISTEN_FLAGS or re.match(r"^backlog=\d+$", flag) \
                or re.match(r"^ipv6only=(on|off)$", flag) or flag.startswith("so_keepalive="):
            extra.append(flag)
        else:
            raise ValueError(f"unknown flag '{flag}' in '{item}'")
    result["flags"] = " ".join(extra)
    return result


_CONVERTERS = {"str": str, "bool": _to_bool, "int": _to_int, "float": _to_float,
               "list": _to_list, "path": _to_path, "listeners": _to_listeners,
               "stream_listeners": streamconf.parse}


def _validate(values: dict[str, Any], errors: list[ConfigError] | None = None) -> None:
    """Runs every check and reports every error found at once (``errors``: those
    found before). A check that fails otherwise after an earlier error (it met a
    value already refused, or missing) is skipped; without one it propagates."""
    errors = list(errors or [])

    def run(check: Any) -> None:
        try:
            check(values)
        except ConfigError as exc:
            errors.append(exc)
        except Exception:  # noqa: BLE001 - see the docstring
            if not errors:
                raise

    for name in _ENUMS:
        run(lambda v, name=name: _check_enum(v, name))
    for name in _AVAILABLE:
        run(lambda v, name=name: _check_available(v, name))
    for check in (_check_prefix, _check_numbers, _check_sizes, _check_headers,
                  _check_addresses, _check_port_maps, sslconf.check, _check_listeners,
                  _check_workers, tracingconf.check, guiconf.check, adminsec.check,
                  dbconf.check, _check_declarative):
        run(check)
    if errors:
        raise _joined(errors)


def _check_enum(values: dict[str, Any], name: str) -> None:
    allowed = _ENUMS[name]
    if values.get(name) is not None and values[name] not in allowed:
        raise ConfigError.invalid(name, f"'{values[name]}' is not one of {', '.join(allowed)}")


def _check_available(values: dict[str, Any], name: str) -> None:
    available = _AVAILABLE[name]
    value = values.get(name)
    if value in _NOT_YET[name]:
        raise ConfigError.invalid(name, f"{value} is not available yet "
                                        f"(only {', '.join(available)})")
    if value not in available:
        raise ConfigError.invalid(name, f"'{value}' is not one of "
                                        f"{', '.join(available + _NOT_YET[name])}")


def _check_declarative(values: dict[str, Any]) -> None:
    """``declarative_config(_string)``: DB-less nodes only, one of the two."""
    given = [n for n in ("declarative_config", "declarative_config_string") if values.get(n)]
    if given and values.get("database") != "off":
        raise ConfigError.invalid(given[0], "only used with database = off")
    if len(given) == 2:
        raise ConfigError.invalid("declarative_config_string",
                                  "cannot be used together with declarative_config")


def _check_prefix(values: dict[str, Any]) -> None:
    if values["prefix"] is None:
        raise ConfigError.invalid("prefix", "a prefix is required")
    if len(values["prefix"]) > _MAX_PREFIX_LEN:
        raise ConfigError.invalid("prefix", f"path longer than {_MAX_PREFIX_LEN} characters "
                                            "does not fit unix socket names")


def _check_numbers(values: dict[str, Any]) -> None:
    minimums = {"admin_workers": 1, "upstream_keepalive_pool_size": 0, "config_history_size": 0,
                "lua_ssl_verify_depth": 0,
                "upstream_keepalive_max_requests": 0, "upstream_keepalive_idle_timeout": 0}
    for name, minimum in minimums.items():
        if values.get(name) is not None and values[name] < minimum:
            raise ConfigError.invalid(name, f"must be at least {minimum}")
    if values["db_update_frequency"] is None or values["db_update_frequency"] <= 0:
        raise ConfigError.invalid("db_update_frequency", "must be a positive number of seconds")
    for name in LUA_MAX:
        if values.get(name) is None or not 1 <= values[name] <= 1000:
            raise ConfigError.invalid(name, "must be an integer between 1 and 1000")


def _check_sizes(values: dict[str, Any]) -> None:
    for name in ("mem_cache_size", "snapshot_cache_size"):
        if values.get(name) is None or not _SIZE_RE.match(values[name]):
            raise ConfigError.invalid(
                name, f"'{values.get(name)}' is not a size such as 128m or 512k")


def _check_headers(values: dict[str, Any]) -> None:
    # As Kong's conf_loader: `off` is accepted anywhere in the list; first, it
    # turns every header off, elsewhere it is ignored.
    checks = (("headers", HEADER_TOKENS), ("headers_upstream", UPSTREAM_HEADER_TOKENS))
    for name, allowed in checks:
        tokens = [t.lower() for t in values[name]]
        for token in tokens:
            if token != "off" and token not in allowed:
                raise ConfigError.invalid(name, f"unknown header token '{token}'")
        if tokens and tokens[0] == "off":
            values[name] = []
        else:
            values[name] = [t for t in values[name] if t.lower() != "off"]
    if values["log_level"] is None:
        raise ConfigError.invalid("log_level", "must be set")


def admin_headers(config: Mapping[str, Any]) -> tuple[bool, bool]:
    """Whether Admin API answers carry `Server` and `X-Kong-Admin-Latency`
    (Kong's `server_tokens` / `latency_tokens` or the header's own name)."""
    tokens = {t.lower() for t in config.get("headers", _DEFAULT_HEADERS)}
    return ("server_tokens" in tokens or "server" in tokens,
            "latency_tokens" in tokens or "x-kong-admin-latency" in tokens)


def _check_addresses(values: dict[str, Any]) -> None:
    for entry in values["trusted_ips"]:
        if entry == "unix:":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError.invalid("trusted_ips", f"'{entry}' is not an IP address or CIDR "
                                                     "block") from None
    for entry in values["dns_resolver"]:
        host, port = _split_host_port(entry)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError.invalid("dns_resolver", f"'{entry}' is not ip[:port]") from None
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError.invalid("dns_resolver", f"'{entry}' has an invalid port")
    # Kong's check and message: each entry a record type (any case) or LAST
    for entry in values["dns_order"]:
        if entry.upper() not in _DNS_ORDER:
            raise ConfigError(f"dns_order: invalid entry '{entry}'", prop="dns_order")


def _check_port_maps(values: dict[str, Any]) -> None:
    """Kong's ``port_maps``: ``<host port>:<kong port>`` entries, both 1-65535."""
    for entry in values["port_maps"]:
        host, sep, kong = entry.partition(":")
        if not (sep and _is_port(host) and _is_port(kong)):
            # Kong's message, after the usual "invalid value for ..."
            raise ConfigError.invalid("port_maps", f"invalid port mapping (`port_maps`): {entry}")


def _is_port(text: str) -> bool:
    text = text.strip()
    return text.isdigit() and 0 < int(text) < 65536


def port_map(values: Mapping[str, Any]) -> dict[int, int]:
    """Kong's ``host_ports``: the port nginx listens on → the port clients reach."""
    mapped = {}
    for entry in values["port_maps"] or []:
        host, _, kong = entry.partition(":")
        mapped[int(kong)] = int(host)
    return mapped


def _split_host_port(entry: str) -> tuple[str, str | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, port
    return entry, None


def _check_listeners(values: dict[str, Any]) -> None:
    for listener in values["admin_listen"]:
        if listener["ssl"] or listener["http2"]:
            raise ConfigError.invalid("admin_listen", "ssl and http2 are not available yet "
                                                      "on the Admin API")
    seen: dict[str, str] = {}
    for name in ("proxy_listen", "admin_listen", "admin_gui_listen", "status_listen",
                 "stream_listen"):
        for listener in values[name]:
            udp = " udp" if listener.get("udp") else ""
            key = f"{listener['host']}:{listener['port']}{udp}"
            if key in seen:
                raise ConfigError.invalid(name, f"{listener['address']} is also in {seen[key]}")
            seen[key] = name


def _check_workers(values: dict[str, Any]) -> None:
    workers = values["nginx_worker_processes"]
    if workers != "auto" and not (workers and workers.isdigit() and int(workers) > 0):
        raise ConfigError.invalid("nginx_worker_processes", f"'{workers}' is not 'auto' or "
                                                            "a positive number")
    for name in ("nginx_main_worker_rlimit_nofile", "nginx_events_worker_connections"):
        value = values.get(name)
        if value is not None and value != "auto" and not value.isdigit():
            raise ConfigError.invalid(name, f"'{value}' is not 'auto' or a number")
    plugins = values["plugins"]
    if "off" in plugins and len(plugins) > 1:
        raise ConfigError.invalid("plugins", "'off' cannot be combined with other plugins")
