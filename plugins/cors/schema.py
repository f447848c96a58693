"""cors: the plugin's configuration (Kong 3.9)."""
import re

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True

METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT")
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def _check_origin(value: str) -> str | None:
    if value == "*":
        return None
    try:
        re.compile(_NAMED_GROUP.sub("(?P<", value))
    except re.error:
        return f"'{value}' is not a valid regex"
    return None


class Config(PluginConfig):
    origins = f.Array(f.String(required=True, checks=[_check_origin]), default=None)
    headers = f.Array(f.String(required=True), default=None)
    exposed_headers = f.Array(f.String(required=True), default=None)
    methods = f.Array(t.string_one_of(METHODS, required=True), default=list(METHODS))
    max_age = f.Number(default=None)
    credentials = f.Boolean(required=True, default=False)
    private_network = f.Boolean(required=True, default=False)
    preflight_continue = f.Boolean(required=True, default=False)
