"""Reusable field definitions (Kong's typedefs) and their validators.

Every factory returns a fresh field so schemas never share mutable state.
Messages are Kong's, word for word; clients and tests compare them.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable

from kongpy.schemas import fields as f, hosts

PROTOCOLS = ("grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp")
MAX_TIMEOUT = 2 ** 31 - 2

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_NAME_ASCII = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~")
_HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_PATH_CHARS = re.compile(r"^/[A-Za-z0-9.\-_~/%:@!$&'()*+,;=]*$")
_METHOD_RE = re.compile(r"^[A-Z]+$")


# -- validators: value -> error message or None --------------------------------

def is_uuid(value: str) -> bool:
    return len(value) == 36 and bool(_UUID_RE.match(value))


def check_uuid(value: str) -> str | None:
    return None if is_uuid(value) else "expected a valid UUID"


def between(low: int, high: int) -> f.Check:
    def _check(value: int) -> str | None:
        if value < low or value > high:
            return f"value should be between {low} and {high}"
        return None
    return _check


def one_of(options: tuple) -> f.Check:
    def _check(value: Any) -> str | None:
        if value not in options:
            return "expected one of: " + ", ".join(str(o) for o in options)
        return None
    return _check


def check_utf8_name(value: str) -> str | None:
    if all(c in _NAME_ASCII or ord(c) > 127 for c in value):
        return None
    return (f"invalid value '{value}': the only accepted ascii characters are "
            "alphanumerics or ., -, _, and ~")


def check_tag(value: str) -> str | None:
    for c in value:
        if ord(c) > 127:
            continue
        if not (0x20 <= ord(c) <= 0x7E) or c in ",/":
            return (f"invalid tag '{value}': expected printable ascii "
                    "(except `,` and `/`) or valid utf-8 sequences")
    return None


def split_host_port(value: str) -> tuple[str, str | None, str | None]:
    """Return (host, port text or None, kind) where kind is ipv4/ipv6/name/None(invalid),
    by Kong's rules (kongpy.schemas.hosts); a port out of range keeps its kind."""
    parsed, err = hosts.normalize_ip(value)
    if parsed is None:
        if err == hosts.PORT_ERROR:
            host, _, port = value.rpartition(":")
            return host.strip("[]"), port, hosts.kind_of(value)
        return value, None, None
    return parsed.host, (None if parsed.port is None else str(parsed.port)), parsed.kind


def check_host(value: str) -> str | None:
    parsed, err = hosts.normalize_ip(value)
    if err is not None and err != hosts.PORT_ERROR:
        return f"invalid value: {value}"
    if parsed is None or parsed.port is not None:
        return "must not have a port"
    return None


def check_host_with_optional_port(value: str) -> str | None:
    """Kong gives normalize_ip's own message here ("invalid hostname: …")."""
    return hosts.normalize_ip(value)[1]


def check_path(value: str) -> str | None:
    if not value.startswith("/"):
        return "should start with: /"
    if "//" in value:
        return "must not have empty segments"
    if not _PATH_CHARS.match(value):
        return (f"invalid path: '{value}' (characters outside of the reserved list "
                "of RFC 3986 found)")
    return check_percent_encoding(value)


def check_percent_encoding(value: str) -> str | None:
    raw = re.sub(r"%[0-9A-Fa-f]{2}", "___", value)
    idx = raw.find("%")
    if idx >= 0:
        return f"invalid url-encoded value: '{raw[idx:idx + 3]}'"
    return None


def check_header_name(value: str) -> str | None:
    if _HEADER_NAME_RE.match(value):
        return None
    return (f"bad header name '{value}', allowed characters are A-Z, a-z, 0-9, "
            "'_', and '-'")


def check_ip_or_cidr(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
        return None
    except ValueError:
        return f"invalid ip or cidr range: '{value}'"


def check_method(value: str) -> str | None:
    return None if _METHOD_RE.match(value) else f"invalid value: {value}"


def check_sni(value: str) -> str | None:
    mock = value
    if value.startswith("*.") or value.endswith(".*"):
        mock = value.replace("*", "wildcard", 1)
    _host, port, kind = split_host_port(mock)
    if kind is None or "*" in mock:
        return f"invalid value: {value}"
    if kind != "name":
        return "must not be an IP"
    if port is not None:
        return "must not have a port"
    return None


# -- field factories -------------------------------------------------------------

def uuid(**kw: Any) -> f.String:
    kw.setdefault("auto", True)
    return f.String(checks=[check_uuid], describe={"uuid": True}, **kw)


def uuid_ref() -> f.String:
    return f.String(required=True, checks=[check_uuid], describe={"uuid": True})


def foreign(reference: str, on_delete: str = "restrict", **kw: Any) -> f.Foreign:
    return f.Foreign(reference, uuid_ref(), on_delete=on_delete, **kw)


def auto_timestamp_s() -> f.Integer:
    return f.Integer(auto=True, describe={"timestamp": True})


def utf8_name(**kw: Any) -> f.String:
    return f.String(checks=[check_utf8_name], describe={"unique": True, "indexed": True}, **kw)


def integer(low: int, high: int, **kw: Any) -> f.Integer:
    return f.Integer(checks=[between(low, high)], describe={"between": [low, high]}, **kw)


def port(**kw: Any) -> f.Integer:
    return integer(0, 65535, **kw)


def timeout(**kw: Any) -> f.Integer:
    return integer(1, MAX_TIMEOUT, **kw)


def string_one_of(options: tuple, **kw: Any) -> f.String:
    return f.String(checks=[one_of(options)], describe={"one_of": list(options)}, **kw)


def protocol(**kw: Any) -> f.String:
    return string_one_of(PROTOCOLS, **kw)


def host(**kw: Any) -> f.String:
    return f.String(checks=[check_host], **kw)


def path(**kw: Any) -> f.String:
    return f.String(checks=[check_path], describe={"starts_with": "/"}, **kw)


def header_name(extra: Callable[[str], str | None] | None = None) -> f.String:
    checks = [extra] if extra else []
    return f.String(required=True, checks=checks + [check_header_name])


def tags() -> f.Set:
    return f.Set(f.String(required=True, checks=[check_tag]))


def protocols(**kw: Any) -> f.Set:
    return f.Set(protocol(required=True), **kw)


def methods() -> f.Set:
    return f.Set(f.String(required=True, checks=[check_method],
                          describe={"match": "^%u+$"}))


def ip_port_records() -> f.Set:
    record = f.Record({"ip": f.String(checks=[check_ip_or_cidr]), "port": port()},
                      at_least_one_of=("ip", "port"), required=True)
    return f.Set(record)


def snis() -> f.Set:
    return f.Set(f.String(required=True, checks=[check_sni]))
