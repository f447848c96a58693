"""Host strings as Kong reads them (kong.tools.ip's normalize_ip): an IPv4
address, an IPv6 address (in brackets when a port follows) or a host name,
each with an optional port, and Kong's message for what is none of these.

Kong's rules, not the RFCs' nor Python's ``ipaddress``: a name is letters,
digits, ``-``, ``_`` and dots, no label ends with ``-`` and only the last may
be empty (``example.com.``); IPv4 octets may have leading zeros; an IPv6
address is eight groups of hex digits once ``::`` is expanded (no zone id,
no dotted tail). Every schema that takes a host (routes' hosts, services'
host, targets, upstream names, SNIs) rests on these.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d+))?$")
_IPV6_GROUPS = re.compile(r"^[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}$")
_NAME_CHARS = re.compile(r"^[0-9A-Za-z\-._]+$")
_NAME_PORT = re.compile(r":(\d+)$")
_DIGITS_AND_DOTS = re.compile(r"^[\d.]+$")
PORT_ERROR = "invalid port number"


class Host(NamedTuple):
    kind: str  # "ipv4", "ipv6" or "name"
    host: str  # an IPv6 address without its brackets
    port: int | None


def kind_of(value: str) -> str:
    """Kong's guess by exclusion: more than one colon is IPv6, digits and
    dots (colons aside) IPv4, anything else a name."""
    if value.count(":") > 1:
        return "ipv6"
    return "ipv4" if _DIGITS_AND_DOTS.match(value.replace(":", "")) else "name"


def normalize_ip(value: str) -> tuple[Host | None, str | None]:
    """The parts of ``value``, or None and Kong's message."""
    kind = kind_of(value)
    if kind == "ipv4":
        return _ipv4(value)
    if kind == "ipv6":
        return _ipv6(value)
    return _name(value)


def _port(text: str) -> int | None:
    port = int(text)
    return port if port <= 65535 else None


def _ipv4(value: str) -> tuple[Host | None, str | None]:
    m = _IPV4.match(value)
    if not m or any(int(octet) > 255 for octet in m.group(1, 2, 3, 4)):
        return None, f"invalid ipv4 address: {value}"
    port = None
    if m.group(5) is not None:
        port = _port(m.group(5))
        if port is None:
            return None, PORT_ERROR
    return Host("ipv4", ".".join(str(int(octet)) for octet in m.group(1, 2, 3, 4)), port), None


def _ipv6(value: str) -> tuple[Host | None, str | None]:
    address, port = value, None
    if value.startswith("[") and "]" in value:
        end = value.index("]")
        address, rest = value[1:end], value[end + 1:]
        if rest:
            if not re.fullmatch(r":\d+", rest):
                return None, "invalid ipv6 address"
            port = _port(rest[1:])
            if port is None:
                return None, PORT_ERROR
    check = address
    if check.startswith(":"):
        check = "0" + check
    if check.endswith(":"):
        check = check + "0"
    if "::" in check:
        check = check.replace("::", ":" + "0:" * (8 - check.count(":")), 1)
    if not _IPV6_GROUPS.match(check):
        return None, f"invalid ipv6 address: {value}"
    return Host("ipv6", address, port), None


def _name(value: str) -> tuple[Host | None, str | None]:
    name, port = value, None
    m = _NAME_PORT.search(value)
    if m:
        name = value[:m.start()]
        port = _port(m.group(1))
        if port is None:
            return None, PORT_ERROR
    labels = name.split(".")
    if not _NAME_CHARS.match(name) or any(
            label.endswith("-") or (label == "" and at != len(labels) - 1)
            for at, label in enumerate(labels)):
        return None, f"invalid hostname: {value}"
    return Host("name", name, port), None
