-- key-auth's credentials (Kong 3.9): a key per credential, unique, generated
-- when the request leaves it out; a credential may expire (ttl).
local typedefs = require("kong.db.schema.typedefs")

return {
    {
        name = "keyauth_credentials",
        primary_key = { "id" },
        cache_key = { "key" },
        endpoint_key = "key",
        workspaceable = true,
        ttl = true,
        admin_api_name = "key-auths",
        admin_api_nested_name = "key-auth",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { key = { type = "string", required = false, unique = true, auto = true } },
            { tags = typedefs.tags },
        },
    },
}
