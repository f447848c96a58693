"""request-size-limiting: the plugin's configuration (Kong 3.9)."""
from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = False

SIZE_UNITS = ("megabytes", "kilobytes", "bytes")


class Config(PluginConfig):
    allowed_payload_size = f.Integer(default=128)
    size_unit = t.string_one_of(SIZE_UNITS, required=True, default="megabytes")
    require_content_length = f.Boolean(required=True, default=False)
