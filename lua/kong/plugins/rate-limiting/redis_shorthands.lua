-- The deprecated flat `redis_*` fields of Kong 3.9's rate-limiting plugins,
-- kept as input-only shorthands for `config.redis.*` (and shown back).
local TYPES = {
    host = "string", port = "integer", password = "string", username = "string",
    ssl = "boolean", ssl_verify = "boolean", server_name = "string", timeout = "integer",
    database = "integer",
}
local ORDER = { "host", "port", "password", "username", "ssl", "ssl_verify", "server_name",
                "timeout", "database" }

local _M = {}

-- The shorthand_fields of the plugin named `plugin`.
function _M.fields(plugin)
    local out = {}
    for _, name in ipairs(ORDER) do
        local flat = "redis_" .. name
        out[#out + 1] = { [flat] = {
            type = TYPES[name],
            len_min = name == "password" and 0 or nil,
            translate_backwards = { "redis", name },
            deprecation = {
                replaced_with = { { path = { "redis", name } } },
                message = plugin .. ": config." .. flat
                          .. " is deprecated, please use config.redis." .. name .. " instead",
                removal_in_version = "4.0",
            },
            func = function(value)
                return { redis = { [name] = value } }
            end,
        } }
    end
    return out
end

return _M
