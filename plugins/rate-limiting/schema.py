"""rate-limiting: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f, ratelimit as rl, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS

LIMIT_BY = ("consumer", "credential", "ip", "service", "header", "path", "consumer-group")
HEADER_CONDITIONAL = "failed conditional validation given value of field 'config.limit_by'"
AT_LEAST_ONE = ("at least one of these fields must be non-empty: "
                + ", ".join(f"'config.{p}'" for p in rl.PERIODS))


class _Config(PluginConfig):
    limit_by = t.string_one_of(LIMIT_BY, required=True, default="consumer")
    header_name = f.String(default=None, checks=[t.check_header_name])
    path = t.path(default=None)
    policy = t.string_one_of(rl.POLICIES, required=True, default="local")
    fault_tolerant = f.Boolean(required=True, default=True)
    redis = rl.redis_record()
    hide_client_headers = f.Boolean(required=True, default=False)
    error_code = f.Number(default=429, checks=[lambda v: None if v > 0 else
                                               "value must be greater than 0"])
    error_message = f.String(default="API rate limit exceeded")
    sync_rate = f.Number(required=True, default=-1)

    @classmethod
    def custom_validator(cls, config: Any) -> str | None:
        rl.map_shorthands(config)
        return rl.order_error(config)

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        messages = []
        if all(config.get(p) is None for p in rl.PERIODS):
            messages.append(AT_LEAST_ONE)
        messages += rl.redis_required(config)
        messages += rl.sync_rate_supported(config)
        by = config.get("limit_by")
        if (by == "header" and not config.get("header_name")) or \
                (by == "path" and not config.get("path")):
            messages.append(HEADER_CONDITIONAL)
        return messages


# The window limits and the flat redis_* shorthands join the declared fields.
Config = type("Config", (_Config,), {**rl.period_fields(), **rl.shorthand_fields()})
