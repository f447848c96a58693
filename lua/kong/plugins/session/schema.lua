-- session (Kong 3.9): an encrypted, authenticated session cookie that keeps
-- the consumer an authentication plugin found (docs/session.md).
local typedefs = require("kong.db.schema.typedefs")
local Schema = require("kong.db.schema")
local rand = require("kong.tools.rand")

local ngx = ngx
local byte = string.byte
local char = string.char
local gsub = string.gsub

local same_site = Schema.define {
    type = "string",
    default = "Strict",
    one_of = { "Strict", "Lax", "None", "Default" },
}

local headers = Schema.define {
    type = "set",
    elements = {
        type = "string",
        one_of = { "id", "audience", "subject", "timeout", "idling-timeout",
                   "rolling-timeout", "absolute-timeout" },
    },
}

local logout_methods = Schema.define {
    type = "set",
    elements = { type = "string", one_of = { "GET", "POST", "DELETE" } },
    default = { "POST", "DELETE" },
}

local ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

-- Kong's default secret: 32 random bytes in base64 (44 characters) with
-- `/`, `+` and `=` replaced by random letters or digits; drawn once per
-- process, stored with the plugin when it is inserted.
local function random_secret()
    local extra = rand.get_rand_bytes(44)
    local i = 0
    return (gsub(ngx.encode_base64(rand.get_rand_bytes(32)), "[/+=]", function()
        i = i + 1
        local n = byte(extra, i) % #ALNUM + 1
        return char(byte(ALNUM, n))
    end))
end

return {
    name = "session",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols },
        { config = {
            type = "record",
            fields = {
                { secret = { type = "string", required = false, default = random_secret(),
                             encrypted = true, referenceable = true } },
                { storage = { type = "string", one_of = { "cookie", "kong" },
                              default = "cookie" } },
                { audience = { type = "string", default = "default" } },
                { idling_timeout = { type = "number", default = 900 } },
                { rolling_timeout = { type = "number", default = 3600 } },
                { absolute_timeout = { type = "number", default = 86400 } },
                { stale_ttl = { type = "number", default = 10 } },
                { cookie_name = { type = "string", default = "session" } },
                { cookie_path = { type = "string", default = "/" } },
                { cookie_domain = { type = "string" } },
                { cookie_same_site = same_site },
                { cookie_http_only = { type = "boolean", default = true } },
                { cookie_secure = { type = "boolean", default = true } },
                { remember = { type = "boolean", default = false } },
                { remember_cookie_name = { type = "string", default = "remember" } },
                { remember_rolling_timeout = { type = "number", default = 604800 } },
                { remember_absolute_timeout = { type = "number", default = 2592000 } },
                { response_headers = headers },
                { request_headers = headers },
                { logout_methods = logout_methods },
                { logout_query_arg = { type = "string", default = "session_logout" } },
                { logout_post_arg = { type = "string", default = "session_logout" } },
                { read_body_for_logout = { type = "boolean", default = false } },
            },
            shorthand_fields = {
                -- Kong's deprecated forms (to be removed in Kong 4.0)
                { cookie_lifetime = { type = "number", func = function(value)
                    return { rolling_timeout = value }
                end } },
                { cookie_idletime = { type = "number", func = function(value)
                    if value == nil or value == ngx.null then
                        value = 0
                    end
                    return { idling_timeout = value }
                end } },
                { cookie_renew = { type = "number", func = function()
                    -- lua-resty-session 4 computes the renewal itself
                    ngx.log(ngx.INFO, "[session] cookie_renew option does not exist anymore")
                end } },
                { cookie_discard = { type = "number", func = function(value)
                    return { stale_ttl = value }
                end } },
                { cookie_samesite = { type = "string", func = function(value)
                    if value == "off" then
                        value = "Lax"
                    end
                    return { cookie_same_site = value }
                end } },
                { cookie_httponly = { type = "boolean", func = function(value)
                    return { cookie_http_only = value }
                end } },
                { cookie_persistent = { type = "boolean", func = function(value)
                    return { remember = value }
                end } },
            },
        } },
    },
}
