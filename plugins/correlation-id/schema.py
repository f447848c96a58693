"""correlation-id: the plugin's configuration (Kong 3.9)."""
from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = False

GENERATORS = ("uuid", "uuid#counter", "tracker")


class Config(PluginConfig):
    header_name = f.String(default="Kong-Request-ID")
    generator = t.string_one_of(GENERATORS, required=True, default="uuid#counter")
    echo_downstream = f.Boolean(required=True, default=False)
