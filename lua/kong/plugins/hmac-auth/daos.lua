-- hmac-auth's credentials (Kong 3.9): a username and its shared secret
-- (generated when the request leaves it out).
local typedefs = require("kong.db.schema.typedefs")

return {
    {
        name = "hmacauth_credentials",
        primary_key = { "id" },
        cache_key = { "username" },
        endpoint_key = "username",
        workspaceable = true,
        admin_api_name = "hmac-auths",
        admin_api_nested_name = "hmac-auth",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { username = { type = "string", required = true, unique = true } },
            { secret = { type = "string", auto = true, encrypted = true } },
            { tags = typedefs.tags },
        },
    },
}
