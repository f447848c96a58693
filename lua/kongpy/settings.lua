-- The data-plane settings file (settings.json), read once in init_by_lua.
local cjson = require("cjson.safe")

local io_open = io.open
local ipairs = ipairs
local type = type
local lower = string.lower

local ERR_READ = "cannot read settings file: "
local ERR_PARSE = "cannot parse settings file: "

local _M = {
    kongpy_version = "0.0.0",
    server_header = "kongpy/0.0.0",
    enabled_headers = {},
    enabled_headers_upstream = {},
    trusted_ips = {},
    error_default_type = "text/plain",
    dns_resolver = {},
    dns_hostsfile = "/etc/hosts",
    snapshot_path = nil,
    prefix = nil,
    plugins = {},
}

-- Kong's header tokens expand to the individual header names they govern.
local TOKENS = {
    server_tokens = { "server", "via" },
    latency_tokens = {
        "x-kong-proxy-latency", "x-kong-response-latency", "x-kong-upstream-latency",
    },
}

local function expand(list)
    local set = {}
    if type(list) ~= "table" then
        return set
    end
    for _, token in ipairs(list) do
        token = lower(token)
        if token == "off" then
            return {}
        end
        local names = TOKENS[token]
        if names then
            for _, name in ipairs(names) do
                set[name] = true
            end
        else
            set[token] = true
        end
    end
    return set
end

function _M.load(path)
    local f, err = io_open(path, "rb")
    if not f then
        return nil, ERR_READ .. err
    end
    local data = f:read("*a")
    f:close()
    local t, perr = cjson.decode(data)
    if type(t) ~= "table" then
        return nil, ERR_PARSE .. (perr or "not an object")
    end
    _M.kongpy_version = t.kongpy_version or _M.kongpy_version
    _M.kong_version = t.kong_version
    _M.node_id = t.node_id
    _M.server_header = "kongpy/" .. _M.kongpy_version
    _M.enabled_headers = expand(t.headers)
    _M.enabled_headers_upstream = expand(t.headers_upstream)
    _M.trusted_ips = type(t.trusted_ips) == "table" and t.trusted_ips or {}
    _M.error_default_type = type(t.error_default_type) == "string"
                            and t.error_default_type or "text/plain"
    _M.dns_resolver = type(t.dns_resolver) == "table" and t.dns_resolver or {}
    _M.dns_hostsfile = t.dns_hostsfile or "/etc/hosts"
    _M.prefix = t.prefix
    _M.snapshot_path = t.snapshot_path
    _M.control_token_file = t.control_token_file
    _M.allow_debug_header = t.allow_debug_header == true
    _M.plugins = type(t.plugins) == "table" and t.plugins or {}
    return true
end

return _M
