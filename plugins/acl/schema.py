"""acl: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig, only_one_of

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True


class Config(PluginConfig):
    allow = f.Array(f.String(required=True), default=None)
    deny = f.Array(f.String(required=True), default=None)
    hide_groups_header = f.Boolean(required=True, default=False)
    always_use_authenticated_groups = f.Boolean(required=True, default=False)

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        return only_one_of(config, ("allow", "deny"))
