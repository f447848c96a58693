"""jwt: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True

MAX_EXPIRATION = 31536000
CONDITIONAL = "failed conditional validation given value of field 'config.maximum_expiration'"


class Config(PluginConfig):
    uri_param_names = f.Set(f.String(required=True), default=["jwt"])
    cookie_names = f.Set(f.String(required=True), default=[])
    key_claim_name = f.String(required=True, default="iss")
    secret_is_base64 = f.Boolean(required=True, default=False)
    claims_to_verify = f.Set(t.string_one_of(("exp", "nbf"), required=True), default=None)
    anonymous = f.String(default=None)
    run_on_preflight = f.Boolean(required=True, default=True)
    maximum_expiration = f.Number(default=0, checks=[t.between(0, MAX_EXPIRATION)],
                                  describe={"between": [0, MAX_EXPIRATION]})
    header_names = f.Set(f.String(required=True), default=["authorization"])
    realm = f.String(default=None)

    @classmethod
    def check(cls, config: Mapping[str, Any]) -> list[str]:
        # Kong's conditional: maximum_expiration > 0 needs "exp" verified.
        maximum = config.get("maximum_expiration") or 0
        if maximum > 0 and "exp" not in (config.get("claims_to_verify") or []):
            return [CONDITIONAL]
        return []
