"""``stream_listen``: the addresses of the stream (TCP, TLS, UDP) proxy.

Kong 3.9's syntax: ``off`` or comma-separated ``<ip>:<port> [flags]`` entries
with the stream subsystem's flags; anything else (``http2`` included) gets
Kong's usage message. nginx itself refuses ``ssl``, ``backlog``,
``so_keepalive`` and ``proxy_protocol`` on a ``udp`` listener when it reads
the rendered configuration; we refuse them here with nginx's words, so the
mistake is reported by ``kongpy check`` rather than by a failed reload.
"""
from __future__ import annotations

import re
from typing import Any

from kongpy.errors import ConfigError

# Kong's stream flags (kong/conf_loader/listeners.lua), as its usage message lists them.
FLAGS = ("udp", "ssl", "proxy_protocol", "bind", "reuseport", "backlog=%d+",
         "ipv6only=on", "ipv6only=off", "so_keepalive=on", "so_keepalive=off",
         "so_keepalive=%w*:%w*:%d*")
USAGE = ("must be of form: [off] | <ip>:<port> [" + "] [".join(FLAGS)
         + "], [... next entry ...]")
# The flags with a field of their own in a parsed listener (never in `flags`).
OWN_FIELDS = ("ssl", "udp", "proxy_protocol")
_PATTERNS = [re.compile("^" + re.escape(flag).replace(r"%d\+", r"\d+")
                        .replace("%w\\*", "[A-Za-z0-9]*").replace("%d\\*", r"\d*") + "$")
             for flag in FLAGS]
# What nginx's stream `listen` refuses together with `udp`.
_NOT_WITH_UDP = ("ssl", "backlog", "so_keepalive", "proxy_protocol")


def _is_flag(token: str) -> bool:
    return any(p.match(token) for p in _PATTERNS)


def _usage() -> ConfigError:
    return ConfigError(f"stream_listen {USAGE}", prop="stream_listen")


def _address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _usage()
    if host.startswith("[") != host.endswith("]"):
        raise _usage()
    return host.strip("[]"), int(port)


def _entry(item: str) -> dict[str, Any]:
    address, *tokens = item.split()
    host, port = _address(address)
    result: dict[str, Any] = {"address": address, "host": host, "port": port,
                              **{name: False for name in OWN_FIELDS}}
    extra: list[str] = []
    for token in tokens:
        if not _is_flag(token):
            raise _usage()
        if token in OWN_FIELDS:
            result[token] = True
        else:
            extra.append(token)
    if result["udp"]:
        given = [n for n in _NOT_WITH_UDP
                 if result.get(n) or any(t.split("=")[0] == n for t in extra)]
        if given:
            raise ConfigError.invalid("stream_listen", f'"{given[0]}" parameter is '
                                                       f"incompatible with \"udp\" in '{item}'")
    result["flags"] = " ".join(extra)
    return result


def parse(value: str | None) -> list[dict[str, Any]]:
    """The listeners of ``stream_listen``: ``{address, host, port, ssl, udp,
    proxy_protocol, flags}`` each; ``[]`` for ``off``."""
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if not items:
        raise _usage()
    if items[0] == "off":
        return []
    return [_entry(item) for item in items]
