"""request-termination: the plugin's configuration (Kong 3.9)."""
from typing import Any, Mapping

from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = False


def _present(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 0


class Config(PluginConfig):
    status_code = t.integer(100, 599, required=True, default=503)
    message = f.String(default=None)
    content_type = f.String(default=None)
    body = f.String(default=None)
    echo = f.Boolean(required=True, default=False)
    trigger = f.String(default=None, checks=[t.check_header_name])

    @classmethod
    def custom_validator(cls, config: Mapping[str, Any]) -> str | None:
        message, ctype, body = config.get("message"), config.get("content_type"), \
            config.get("body")
        if _present(message) and (_present(ctype) or _present(body)):
            return "message cannot be used with content_type or body"
        if _present(ctype) and not _present(body):
            return "content_type requires a body"
        if config.get("echo") and (_present(ctype) or _present(body)):
            return "echo cannot be used with content_type and body"
        return None
