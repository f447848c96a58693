"""The Admin API's security settings: allowed origins, host names, authentication mode.

Pure functions shared by conf validation (``admin_gui_url``,
``admin_allowed_origins``, ``admin_server_names``, ``admin_auth``) and by the
Admin API guard, which reads the ``Origin`` and ``Host`` request headers with
the same parsers, so a value accepted in the conf is matched the way it reads.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from kongpy.errors import ConfigError

AUTH_MODES = ("off", "token")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Labels may hold `_` (container and service names do), unlike RFC 1123 names.
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


# -- names and addresses -----------------------------------------------------------------

def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_name(name: str) -> bool:
    labels = name.lower().split(".")
    return len(name) <= 253 and all(_LABEL_RE.match(label) for label in labels)


def split_host(value: str) -> tuple[str, int | None] | None:
    """``(host, port)`` of a Host header value: host lower-cased, IPv6 without
    brackets, a name without its trailing dot. None when malformed."""
    value = value.strip().lower()
    port_text: str | None = None
    if value.startswith("["):
        host, closed, rest = value[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
        if not is_ip_literal(host) or ":" not in host:
            return None
    else:
        host, sep, port_text = value.partition(":")
        port_text = port_text if sep else None
        host = host[:-1] if host.endswith(".") else host
        if not host or not (is_ip_literal(host) or is_host_name(host)):
            return None
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def origin_of(url: str, bare: bool = False) -> str:
    """``scheme://host[:port]`` of an http(s) URL: lower-cased, the default
    port dropped, as browsers serialise an ``Origin``. ``bare``: the value must
    be an origin itself (no path, query or fragment). Raises ValueError."""
    text = url.strip()
    expected = "scheme://host[:port]" if bare else "http(s)://host[:port][/path]"
    problem = ValueError(f"'{url}' is not {'an origin' if bare else 'a URL'} ({expected})")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise problem from None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not (is_ip_literal(host) or is_host_name(host)):
        raise problem
    if "@" in parts.netloc or (bare and (parts.path not in ("", "/") or parts.query
                                         or parts.fragment or text.endswith(("?", "#")))):
        raise problem
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def request_origin(value: str) -> str | None:
    """The normalised form of a request's ``Origin`` header, None when it is
    not an http(s) origin (``null``, garbage)."""
    try:
        return origin_of(value, bare=True)
    except ValueError:
        return None


# -- reading the settings ----------------------------------------------------------------

def as_list(value: Any) -> list[str]:
    """A list property, given typed (a list) or raw (a comma-separated string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item) for item in value]


def allowed_origins(config: Mapping[str, Any]) -> list[str]:
    """``admin_gui_url`` origins first (Kong answers the first one to requests
    without an Origin), then ``admin_allowed_origins``; no duplicates."""
    found = [origin_of(url) for url in as_list(config.get("admin_gui_url"))]
    found += [origin_of(item, bare=True) for item in as_list(config.get("admin_allowed_origins"))]
    return list(dict.fromkeys(found))


def listen_addresses(entries: Iterable[Any]) -> list[tuple[str, int]]:
    """``(host, port)`` of each ``admin_listen`` entry (typed dicts or raw strings)."""
    found = []
    for entry in entries or ():
        if isinstance(entry, Mapping):
            found.append((str(entry["host"]).lower(), int(entry["port"])))
            continue
        address = str(entry).split()[0]
        host, _, port = address.rpartition(":")
        found.append((host.strip("[]").lower(), int(port)))
    return found


# -- conf validation ---------------------------------------------------------------------

def check(values: dict[str, Any]) -> None:
    """Validates the security properties in place (the auth mode defaults to off)."""
    for name, bare in (("admin_gui_url", False), ("admin_allowed_origins", True)):
        for item in values.get(name) or []:
            try:
                origin_of(item, bare)
            except ValueError as exc:
                raise ConfigError.invalid(name, str(exc)) from None
    for item in values.get("admin_server_names") or []:
        if not is_host_name(item):
            raise ConfigError.invalid("admin_server_names", f"'{item}' is not a host name")
    values["admin_auth"] = values.get("admin_auth") or "off"
    if values["admin_auth"] not in AUTH_MODES:
        raise ConfigError.invalid("admin_auth", f"'{values['admin_auth']}' is not one of "
                                                f"{', '.join(AUTH_MODES)}")


def check_exposure(values: Mapping[str, Any]) -> None:
    """Refuses an Admin API without authentication on a non-loopback address."""
    if values.get("admin_auth") != "off" or values.get("admin_auth_insecure"):
        return
    exposed = [entry["address"] for entry in values.get("admin_listen") or []
               if not is_loopback(entry["host"])]
    if exposed:
        raise ConfigError.invalid(
            "admin_auth", f"off is refused while admin_listen has a non-loopback address "
                          f"({', '.join(exposed)}): set admin_auth = token (tokens come from "
                          "'kongpy admin token create'), or admin_auth_insecure = on to run "
                          "the Admin API without authentication anyway")
