-- basic-auth's credentials (Kong 3.9's entity). A password is stored as a
-- salted PBKDF2 hash made when a write supplies it (password.lua), never in
-- clear; rows imported from Kong keep Kong's SHA-1 until their next login,
-- when the data plane hands over a stronger hash (`rehash`, kongpy's own
-- key: the sync loop stores it only if `accepts` says so).
local typedefs = require("kong.db.schema.typedefs")
local passwords = require("kong.plugins.basic-auth.password")

return {
    {
        name = "basicauth_credentials",
        primary_key = { "id" },
        cache_key = { "username" },
        endpoint_key = "username",
        workspaceable = true,
        admin_api_name = "basic-auths",
        admin_api_nested_name = "basic-auth",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { username = { type = "string", required = true, unique = true } },
            { password = { type = "string", required = true, encrypted = true } },
            { tags = typedefs.tags },
        },
        transformations = {
            {
                -- Kong's hash needs the consumer's id, so Kong refuses to
                -- move a credential to another consumer without its
                -- password ("all or none of these fields must be set:
                -- 'password', 'consumer.id'"). kongpy's hash does not need
                -- it; the rule is kept for compatibility.
                input = { "password" },
                needs = { "consumer.id" },
                on_write = function(password)
                    local hashed = passwords.hash(password)
                    if not hashed then
                        return nil, "cannot hash the password"
                    end
                    return { password = hashed }
                end,
            },
        },
        rehash = { field = "password", accepts = passwords.accepts_rehash },
    },
}
