"""The ``targets`` entity (Kong 3.9): one backend of an upstream, with its weight."""
from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import EntitySchema

DEFAULT_PORT = 8000


def _invalid(value: str) -> str:
    return f"Invalid target ('{value}'); not a valid hostname or ip address"


def normalize(value: str) -> tuple[str, int] | None:
    """(host, port) of ``host[:port]``, an IPv6 address expanded as Kong
    writes it; None when ``value`` is neither a hostname nor an address."""
    host, port_text, kind = t.split_host_port(value)
    if kind is None or not host:
        return None
    if port_text is not None:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            return None
        port = int(port_text)
    else:
        port = DEFAULT_PORT
    if kind == "ipv6":
        host = ipaddress.IPv6Address(host).exploded
    return host, port


def format_target(value: str) -> str:
    """``host:port`` with Kong's default port; IPv6 in brackets."""
    parsed = normalize(value)
    if parsed is None:
        return value
    host, port = parsed
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_target(value: str) -> str | None:
    return None if normalize(value) is not None else _invalid(value)


class TargetSchema(EntitySchema):
    entity_name = "targets"
    endpoint_key = "target"
    cache_key = ("upstream", "target")
    # A duplicate target reports only the target, as Kong's targets DAO does.
    cache_key_report: ClassVar[tuple[str, ...]] = ("target",)
    timestamp_precision = "ms"

    id = t.uuid()
    created_at = f.Number(auto=True, describe={"timestamp": True})
    updated_at = f.Number(auto=True, describe={"timestamp": True})
    upstream = t.foreign("upstreams", on_delete="cascade", required=True)
    target = f.String(required=True, checks=[check_target])
    weight = t.integer(0, 65535, default=100)
    tags = t.tags()

    @classmethod
    def validate(cls, raw: Any) -> dict:
        data = super().validate(raw)
        data["target"] = format_target(data["target"])
        return data

    @classmethod
    def key_for(cls, key: str) -> str:
        """A target given in a URL, as stored (``10.0.0.1`` -> ``10.0.0.1:8000``)."""
        return format_target(key)
