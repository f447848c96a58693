"""ip-restriction: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.base import is_empty, quoted
from kongpy.schemas.plugins import PluginConfig

PROTOCOLS = ("http", "https", "tcp", "tls", "grpc", "grpcs")
NO_CONSUMER = False


def _check(value: str) -> str | None:
    # Prefix lengths only (no netmask form) and no zone ids: what the data plane parses.
    _addr, slash, bits = value.partition("/")
    if "%" in value or (slash and not bits.isdigit()):
        return f"invalid ip or cidr range: '{value}'"
    return t.check_ip_or_cidr(value)


def _ip_or_cidr() -> f.String:
    return f.String(required=True, checks=[_check])


class Config(PluginConfig):
    allow = f.Array(_ip_or_cidr(), default=None)
    deny = f.Array(_ip_or_cidr(), default=None)
    status = f.Number(default=None)
    message = f.String(default=None)

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        if is_empty(config.get("allow")) and is_empty(config.get("deny")):
            names = ("config.allow", "config.deny")
            return [f"at least one of these fields must be non-empty: {quoted(names)}"]
        return []
