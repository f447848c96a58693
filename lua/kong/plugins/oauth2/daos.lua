-- oauth2's entities (Kong 3.9): the applications (credentials), the
-- authorization codes and the tokens. Codes and tokens are written by the
-- data plane while it answers /oauth2/authorize and /oauth2/token, through
-- the control plane's write channel (kongpy.dpwrite); both expire (ttl).
local typedefs = require("kong.db.schema.typedefs")
local secret = require("kong.plugins.oauth2.secret")

local find = string.find
local match = string.match

-- Kong parses with LuaSocket's url.parse: a scheme and a host, no fragment.
local function validate_uri(uri)
    local scheme, rest = match(uri, "^([%a][%w+.-]*):(.*)$")
    local authority = rest and match(rest, "^//([^/?#]*)")
    local host = authority and match(authority, "^[^@]*@(.*)$") or authority
    host = host and (match(host, "^(%[.*%])") or match(host, "^([^:]*)"))
    if not (scheme and host and host ~= "") then
        return nil, "cannot parse '" .. uri .. "'"
    end
    if find(uri, "#", 1, true) then
        return nil, "fragment not allowed in '" .. uri .. "'"
    end
    return true
end

local BEARER = "bearer"

return {
    {
        name = "oauth2_credentials",
        primary_key = { "id" },
        cache_key = { "client_id" },
        endpoint_key = "client_id",
        workspaceable = true,
        admin_api_name = "oauth2",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { name = { type = "string", required = true } },
            { client_id = { type = "string", required = false, unique = true, auto = true } },
            { client_secret = { type = "string", required = false, auto = true,
                                encrypted = true } },
            { hash_secret = { type = "boolean", required = true, default = false } },
            { redirect_uris = { type = "array", required = false,
                                elements = { type = "string",
                                             custom_validator = validate_uri } } },
            { tags = typedefs.tags },
            { client_type = { type = "string", required = true, default = "confidential",
                              one_of = { "confidential", "public" } } },
        },
        transformations = {
            {
                input = { "hash_secret" },
                needs = { "client_secret" },
                on_write = function(hash_secret, client_secret)
                    if not hash_secret then
                        return {}
                    end
                    local hashed, err = secret.hash(client_secret)
                    if not hashed then
                        return nil, err
                    end
                    return { client_secret = hashed }
                end,
            },
        },
    },
    {
        name = "oauth2_authorization_codes",
        primary_key = { "id" },
        ttl = true,
        workspaceable = true,
        generate_admin_api = false,
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { service = { type = "foreign", reference = "services", default = ngx.null,
                          on_delete = "cascade" } },
            { credential = { type = "foreign", reference = "oauth2_credentials",
                             required = true, on_delete = "cascade" } },
            { code = { type = "string", required = false, unique = true, auto = true } },
            { authenticated_userid = { type = "string", required = false } },
            { scope = { type = "string" } },
            { challenge = { type = "string", required = false } },
            { challenge_method = { type = "string", required = false, one_of = { "S256" } } },
            { plugin = { type = "foreign", reference = "plugins", default = ngx.null,
                         on_delete = "cascade" } },
        },
    },
    {
        name = "oauth2_tokens",
        primary_key = { "id" },
        endpoint_key = "access_token",
        cache_key = { "access_token" },
        ttl = true,
        workspaceable = true,
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { service = { type = "foreign", reference = "services", default = ngx.null,
                          on_delete = "cascade" } },
            { credential = { type = "foreign", reference = "oauth2_credentials",
                             required = true, on_delete = "cascade" } },
            { token_type = { type = "string", required = true, one_of = { BEARER },
                             default = BEARER } },
            { expires_in = { type = "integer", required = true } },
            { access_token = { type = "string", required = false, unique = true,
                               auto = true } },
            { refresh_token = { type = "string", required = false, unique = true } },
            { authenticated_userid = { type = "string", required = false } },
            { scope = { type = "string" } },
        },
    },
}
