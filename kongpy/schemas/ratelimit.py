"""Config pieces shared by ``rate-limiting`` and ``response-ratelimiting`` (Kong 3.9).

The ``redis`` record of Kong's ``kong/tools/redis/schema.lua``, its deprecated
flat ``redis_*`` shorthands, the period limits and Kong's check that a longer
window is never lower than a shorter one.
"""
from __future__ import annotations

from typing import Any, Mapping, MutableMapping

from kongpy.schemas import fields as f, typedefs as t

PERIODS = ("second", "minute", "hour", "day", "month", "year")
POLICIES = ("local", "cluster", "redis")
ORDER_MESSAGE = "The limit for {}({:.1f}) cannot be lower than the limit for {}({:.1f})"
POLICY_CONDITIONAL = "failed conditional validation given value of field 'config.policy'"
DEFAULT_REDIS_TIMEOUT = 2000

# Kong 3.9 still accepts the pre-3.6 flat names and maps them into ``redis``.
SHORTHANDS = {
    "redis_host": "host", "redis_port": "port", "redis_password": "password",
    "redis_username": "username", "redis_database": "database",
    "redis_timeout": "timeout", "redis_ssl": "ssl", "redis_ssl_verify": "ssl_verify",
    "redis_server_name": "server_name",
}


def _positive(value: Any) -> str | None:
    return None if value > 0 else "value must be greater than 0"


def limit() -> f.Number:
    return f.Number(default=None, checks=[_positive], describe={"gt": 0})


def period_fields() -> dict[str, f.KongField]:
    return {p: limit() for p in PERIODS}


def redis_fields(defaults: bool = True) -> dict[str, f.KongField]:
    def d(value: Any) -> Any:
        return value if defaults else None
    return {
        "host": t.host(default=None),
        "port": t.port(default=d(6379)),
        "timeout": t.timeout(default=d(DEFAULT_REDIS_TIMEOUT)),
        "username": f.String(default=None, describe={"referenceable": True}),
        "password": f.String(default=None, describe={"referenceable": True,
                                                     "encrypted": True}),
        "database": f.Integer(default=d(0)),
        "ssl": f.Boolean(default=d(False)),
        "ssl_verify": f.Boolean(default=d(False)),
        "server_name": f.String(default=None, checks=[t.check_sni]),
    }


def redis_record() -> f.Record:
    fields = redis_fields()
    default = {name: field.kong_default for name, field in fields.items()}
    return f.Record(fields, required=True, default=default)


def shorthand_fields() -> dict[str, f.KongField]:
    """The flat ``redis_*`` names as write-only fields (moved by :func:`map_shorthands`)."""
    fields = redis_fields(defaults=False)
    return {flat: fields[name] for flat, name in SHORTHANDS.items()}


def map_shorthands(config: MutableMapping[str, Any]) -> None:
    """Moves set ``redis_*`` values into ``config.redis`` and drops the flat keys."""
    redis = config.get("redis")
    if not isinstance(redis, dict):
        redis = config["redis"] = {}
    for flat, name in SHORTHANDS.items():
        value = config.pop(flat, None)
        if value is not None:
            redis[name] = value


def order_error(limits: Mapping[str, Any]) -> str | None:
    """Kong's ``validate_periods_order``: the first longer window lower than a shorter one."""
    for i, lower in enumerate(PERIODS):
        low = limits.get(lower)
        if not isinstance(low, (int, float)):
            continue
        for upper in PERIODS[i + 1:]:
            high = limits.get(upper)
            if isinstance(high, (int, float)) and high < low:
                return ORDER_MESSAGE.format(upper, high, lower, low)
    return None


SYNC_RATE_UNSUPPORTED = ("sync_rate: only -1 (counting in redis on every request) is "
                         "supported with the redis policy")


def sync_rate_supported(config: Mapping[str, Any]) -> list[str]:
    """Kong batches redis counts every ``sync_rate`` seconds when it is not -1; the
    local and cluster policies ignore it in Kong too. kongpy always counts in
    redis on the request, so a batching rate is refused, not ignored."""
    if config.get("policy") == "redis" and config.get("sync_rate") not in (None, -1):
        return [SYNC_RATE_UNSUPPORTED]
    return []


def redis_required(config: Mapping[str, Any]) -> list[str]:
    """Kong's conditional: ``policy = redis`` needs ``redis.host`` (and a port)."""
    if config.get("policy") != "redis":
        return []
    redis = config.get("redis") or {}
    if not redis.get("host") or not redis.get("port"):
        return [POLICY_CONDITIONAL]
    return []
