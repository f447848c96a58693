"""key-auth: the plugin's configuration (Kong 3.9)."""
from kongpy.schemas import fields as f, typedefs as t
from kongpy.schemas.plugins import HTTP_PROTOCOLS, PluginConfig

PROTOCOLS = HTTP_PROTOCOLS
NO_CONSUMER = True


class Config(PluginConfig):
    key_names = f.Array(t.header_name(), required=True, default=["apikey"])
    hide_credentials = f.Boolean(required=True, default=False)
    anonymous = f.String(default=None)
    key_in_header = f.Boolean(required=True, default=True)
    key_in_query = f.Boolean(required=True, default=True)
    key_in_body = f.Boolean(required=True, default=False)
    run_on_preflight = f.Boolean(required=True, default=True)
    realm = f.String(default=None)
