"""basic-auth: the plugin's configuration (Kong 3.9)."""
from kongpy.schemas import fields as f
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True


class Config(PluginConfig):
    anonymous = f.String(default=None)
    hide_credentials = f.Boolean(required=True, default=False)
    realm = f.String(required=True, default="service")
