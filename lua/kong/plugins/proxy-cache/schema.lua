-- proxy-cache (Kong 3.9): responses cached in a shared dictionary of the node.
local typedefs = require("kong.db.schema.typedefs")

local ngx = ngx
local type = type

local STRATEGIES = { "memory" }

-- The workers find the node's dictionaries in ngx.shared; the control
-- plane's Lua helper (another nginx) is handed their names instead.
local function has_shdict(name)
    local conf = type(kong) == "table" and kong.configuration
    local names = type(conf) == "table" and conf.kongpy_shared_dicts
    if type(names) == "table" then
        for i = 1, #names do
            if names[i] == name then
                return true
            end
        end
        return false
    end
    return ngx.shared[name] ~= nil
end

return {
    name = "proxy-cache",
    fields = {
        { protocols = typedefs.protocols },
        { config = {
            type = "record",
            fields = {
                { response_code = { type = "array", default = { 200, 301, 404 },
                                    elements = { type = "integer", between = { 100, 900 } },
                                    len_min = 1, required = true } },
                { request_method = { type = "array", default = { "GET", "HEAD" },
                                     elements = { type = "string",
                                                  one_of = { "HEAD", "GET", "POST", "PATCH",
                                                             "PUT" } },
                                     required = true } },
                { content_type = { type = "array",
                                   default = { "text/plain", "application/json" },
                                   elements = { type = "string" }, required = true } },
                { cache_ttl = { type = "integer", default = 300, gt = 0 } },
                { strategy = { type = "string", one_of = STRATEGIES, required = true } },
                { cache_control = { type = "boolean", default = false, required = true } },
                { ignore_uri_case = { type = "boolean", default = false, required = false } },
                { storage_ttl = { type = "integer" } },
                { memory = {
                    type = "record",
                    fields = {
                        { dictionary_name = { type = "string", required = true,
                                              default = "kong_db_cache" } },
                    },
                } },
                { vary_query_params = { type = "array", elements = { type = "string" } } },
                { vary_headers = { type = "array", elements = { type = "string" } } },
                { response_headers = {
                    type = "record",
                    fields = {
                        { ["Age"] = { type = "boolean", default = true } },
                        { ["X-Cache-Status"] = { type = "boolean", default = true } },
                        { ["X-Cache-Key"] = { type = "boolean", default = true } },
                    },
                } },
            },
        } },
    },
    entity_checks = {
        { custom_entity_check = {
            field_sources = { "config" },
            fn = function(entity)
                local config = entity.config
                if config.strategy == "memory" then
                    local name = config.memory.dictionary_name
                    if not has_shdict(name) then
                        return nil, "missing shared dict '" .. name .. "'"
                    end
                end
                return true
            end,
        } },
    },
}
