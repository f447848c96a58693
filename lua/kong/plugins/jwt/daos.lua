-- jwt's credentials (Kong 3.9): a key (matched against the token's claim),
-- a secret for HS* algorithms, a PEM public key for the asymmetric ones.
local typedefs = require("kong.db.schema.typedefs")
local pem = require("kongpy.schema.pem")

local ALGORITHMS = { "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384",
                     "ES512", "PS256", "PS384", "PS512", "EdDSA" }

-- A public key OpenSSL can load (what the data plane verifies with).
local function valid_public_key(key)
    if not pem.key(key) then
        return nil, "invalid key"
    end
    return true
end

return {
    {
        name = "jwt_secrets",
        primary_key = { "id" },
        cache_key = { "key" },
        endpoint_key = "key",
        workspaceable = true,
        admin_api_name = "jwts",
        admin_api_nested_name = "jwt",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { key = { type = "string", required = false, unique = true, auto = true } },
            { secret = { type = "string", auto = true } },
            { rsa_public_key = { type = "string" } },
            { algorithm = { type = "string", default = "HS256", one_of = ALGORITHMS } },
            { tags = typedefs.tags },
        },
        entity_checks = {
            { conditional = {
                if_field = "algorithm",
                if_match = { not_one_of = { "HS256", "HS384", "HS512" } },
                then_field = "rsa_public_key",
                then_match = { required = true, custom_validator = valid_public_key },
            } },
        },
    },
}
