"""bot-detection: the plugin's configuration (Kong 3.9)."""
import re

from kongpy.schemas import fields as f
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True

_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def _check_regex(value: str) -> str | None:
    try:
        re.compile(_NAMED_GROUP.sub("(?P<", value))
    except re.error:
        return f"not a valid regex: {value}"
    return None


def _regexes() -> f.Array:
    return f.Array(f.String(required=True, checks=[_check_regex]), default=[])


class Config(PluginConfig):
    allow = _regexes()
    deny = _regexes()
