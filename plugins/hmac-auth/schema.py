"""hmac-auth: the plugin's configuration (Kong 3.9)."""
from typing import Any

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True

ALGORITHMS = ("hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512")


def _greater_than_zero(value: Any) -> str | None:
    return None if value > 0 else "value must be greater than 0"


class Config(PluginConfig):
    hide_credentials = f.Boolean(required=True, default=False)
    clock_skew = f.Number(required=True, default=300, checks=[_greater_than_zero],
                          describe={"gt": 0})
    anonymous = f.String(default=None)
    validate_request_body = f.Boolean(required=True, default=False)
    enforce_headers = f.Array(f.String(required=True), required=True, default=[])
    algorithms = f.Array(t.string_one_of(ALGORITHMS, required=True), required=True,
                         default=list(ALGORITHMS))
    realm = f.String(default=None)
