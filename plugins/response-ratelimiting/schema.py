"""response-ratelimiting: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f, ratelimit as rl, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS


def _limits() -> f.Map:
    record = f.Record(rl.period_fields(), required=True, at_least_one_of=rl.PERIODS)
    return f.Map(f.String(required=True), record, required=True,
                 checks=[lambda v: None if v else "length must be at least 1"],
                 describe={"len_min": 1})


class _Config(PluginConfig):
    header_name = f.String(default="x-kong-limit")
    limit_by = t.string_one_of(("consumer", "credential", "ip"), default="consumer")
    policy = t.string_one_of(rl.POLICIES, default="local")
    fault_tolerant = f.Boolean(required=True, default=True)
    redis = rl.redis_record()
    block_on_first_violation = f.Boolean(required=True, default=False)
    hide_client_headers = f.Boolean(required=True, default=False)
    limits = _limits()

    @classmethod
    def custom_validator(cls, config: Any) -> Any:
        rl.map_shorthands(config)
        errors = {}
        for name, periods in (config.get("limits") or {}).items():
            message = rl.order_error(periods)
            if message:
                errors[name] = message
        return {"limits": errors} if errors else None

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        return rl.redis_required(config)


# The flat redis_* shorthands join the declared fields.
Config = type("Config", (_Config,), rl.shorthand_fields())
