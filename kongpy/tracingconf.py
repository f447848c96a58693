"""``tracing_instrumentations`` and ``tracing_sampling_rate`` (Kong 3.9).

The data plane's tracer (lua/kongpy/pdk/tracing.lua) records spans only when
``tracing_instrumentations`` is not ``off``; the sampling rate is the share of
traces kept when no plugin sets its own. Kong's conf loader words the
refusals; so do we.
"""
from __future__ import annotations

from typing import Any, Mapping

from kongpy.errors import ConfigError

TYPES: dict[str, str] = {"tracing_instrumentations": "list", "tracing_sampling_rate": "float"}
# Kong's instrumentation.available_types, plus `all`, `off` and `request`.
INSTRUMENTATIONS = ("off", "all", "request", "db_query", "dns_query", "router", "http_client",
                    "balancer", "plugin_rewrite", "plugin_access", "plugin_header_filter")


def check(values: dict[str, Any]) -> None:
    """Refuses unknown instrumentations, `off` mixed with others, a rate outside 0..1."""
    kinds = [k.lower() for k in values.get("tracing_instrumentations") or []]
    for kind in kinds:
        if kind not in INSTRUMENTATIONS:
            raise ConfigError.invalid("tracing_instrumentations",
                                      f"invalid tracing type: {kind}")
    if len(kinds) > 1 and "off" in kinds:
        raise ConfigError.invalid("tracing_instrumentations",
                                  "invalid tracing types: off, other types are mutually "
                                  "exclusive")
    values["tracing_instrumentations"] = kinds or ["off"]
    rate = values.get("tracing_sampling_rate")
    if rate is None or not 0 <= rate <= 1:
        raise ConfigError.invalid("tracing_sampling_rate",
                                  "tracing_sampling_rate must be between 0 and 1")


def settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The data plane's view: the instrumentations turned on (none when off)."""
    kinds = [k for k in config["tracing_instrumentations"] if k != "off"]
    return {"instrumentations": kinds, "sampling_rate": config["tracing_sampling_rate"]}
