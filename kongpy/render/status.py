"""Template context of the Status API server (``status_listen``) and of the
prometheus plugin's shared dict.

The Status API is a server block of the node's nginx whose answers come from
the data plane (lua/kongpy/status.lua), so it keeps answering while the
control plane is busy or down.
"""
from __future__ import annotations

import os
from typing import Any

from kongpy import plugins
from kongpy.conf import Config

# Kong's nginx template declares the dict with this size when the plugin is enabled.
PROMETHEUS_DICT = "prometheus_metrics"
PROMETHEUS_DICT_SIZE = "5m"


def _in_prefix(config: Config, value: str) -> str:
    return value if os.path.isabs(value) else os.path.join(config["prefix"], value)


def prometheus_dicts(config: Config) -> list[dict[str, str]]:
    """``prometheus_metrics`` when the plugin is enabled, unless an injected
    ``nginx_http_lua_shared_dict = prometheus_metrics <size>`` declares it
    (that is how its size is changed, as in Kong)."""
    if "prometheus" not in plugins.enabled_names(config):
        return []
    for directive, value in config.injected().get("http", []):
        if directive == "lua_shared_dict" and str(value).split()[:1] == [PROMETHEUS_DICT]:
            return []
    return [{"name": PROMETHEUS_DICT, "size": PROMETHEUS_DICT_SIZE}]


def template_context(config: Config, default_certificates: list[dict[str, str]]) -> dict[str, Any]:
    """``status_listeners`` (empty: no server), their logs and certificates."""
    listeners = [{"address": item["address"], "ssl": item["ssl"], "http2": item["http2"],
                  "flags": item["flags"]} for item in config["status_listen"]]
    access_log = config["status_access_log"] or "off"
    if config["status_ssl_cert"]:
        certificates = [{"cert": c, "key": k} for c, k in
                        zip(config["status_ssl_cert"], config["status_ssl_cert_key"])]
    else:
        certificates = default_certificates
    return {
        "status_listeners": listeners,
        "status_access_log": "off" if access_log == "off" else _in_prefix(config, access_log),
        "status_error_log": _in_prefix(config, config["status_error_log"]
                                       or "logs/status_error.log"),
        "status_ssl_certificates": certificates,
    }
