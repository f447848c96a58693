-- The data-plane settings file (settings.json), read once in init_by_lua.
local cjson = require("cjson.safe")

local io_open = io.open
local ipairs = ipairs
local type = type
local pairs = pairs
local tonumber = tonumber
local null = ngx.null
local lower = string.lower

local ERR_READ = "cannot read settings file: "
local ERR_PARSE = "cannot parse settings file: "

local _M = {
    server_header = "kongpy/0.0.0",
    node_id = nil,
    enabled_headers = {},
    -- the response headers location / has nginx add (add_header), in
    -- lower case: a subset of via, x-kong-proxy-latency,
    -- x-kong-upstream-latency, x-kong-request-id (kongpy.init)
    nginx_headers = {},
    error_default_type = "text/plain",
    allow_debug_header = false,
    -- "traditional" or "traditional_compatible" (router.lua)
    router_flavor = "traditional_compatible",
    dns_resolver = {},
    dns_hostsfile = "/etc/hosts",
    -- the local syslog socket of the syslog plugin (kongpy's syslog_socket)
    syslog_socket = "/dev/log",
    snapshot_path = nil,
    control_token_file = nil,
    -- the write channel (kongpy.dpwrite) and the entities it may write
    write_socket = nil,
    dp_writable = {},
    plugins = {},
    kong_version = "0.0.0",
    trusted_ips = {},
    -- kong.configuration: the node's properties (secrets masked, nulls as nil)
    configuration = {},
    -- port_maps: listening port -> the port clients reach
    host_ports = {},
    -- entity name -> {unique, cache_key, foreign, ttl} (kong.db)
    entities = {},
    -- upstream TLS (docs/upstream-tls.md): the verification profiles nginx
    -- was rendered with ("<trust store>|<depth>" -> location name), the
    -- depth of services without tls_verify_depth, the keepalive blocks
    upstream_tls = { profiles = {}, verify_depth = 1, pools = 0 },
    -- {instrumentations = {...}, sampling_rate = n} (kongpy.instrumentation)
    tracing = {},
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

local function table_of(v)
    return type(v) == "table" and v or {}
end

-- JSON nulls as nil, at every depth: plugins test fields with `if conf.x`.
local function without_nulls(t)
    for k, v in pairs(t) do
        if v == null then
            t[k] = nil
        elseif type(v) == "table" then
            without_nulls(v)
        end
    end
    return t
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
    _M.server_header = "kongpy/" .. (t.kongpy_version or "0.0.0")
    _M.node_id = t.node_id
    _M.enabled_headers = expand(t.headers)
    _M.nginx_headers = table_of(t.nginx_headers)
    _M.error_default_type = type(t.error_default_type) == "string"
                            and t.error_default_type or "text/plain"
    _M.dns_resolver = type(t.dns_resolver) == "table" and t.dns_resolver or {}
    _M.dns_hostsfile = t.dns_hostsfile or "/etc/hosts"
    _M.syslog_socket = type(t.syslog_socket) == "string" and t.syslog_socket or "/dev/log"
    _M.dns_order = type(t.dns_order) == "table" and t.dns_order or nil
    _M.snapshot_path = t.snapshot_path
    _M.control_token_file = t.control_token_file
    _M.write_socket = t.write_socket
    _M.dp_writable = table_of(t.dp_writable)
    _M.allow_debug_header = t.allow_debug_header == true
    _M.router_flavor = type(t.router_flavor) == "string" and t.router_flavor
                       or "traditional_compatible"
    _M.plugins = table_of(t.plugins)
    _M.kong_version = type(t.kong_version) == "string" and t.kong_version or "0.0.0"
    _M.trusted_ips = table_of(t.trusted_ips)
    _M.configuration = without_nulls(table_of(t.configuration))
    -- Kong's host_ports (port_maps): listening port -> the port clients
    -- reach, by number and by string as in Kong
    local host_ports = {}
    for k, v in pairs(table_of(_M.configuration.host_ports)) do
        host_ports[k] = v
        host_ports[tonumber(k)] = v
    end
    _M.configuration.host_ports = host_ports
    _M.host_ports = host_ports
    _M.entities = table_of(t.entities)
    _M.tracing = table_of(t.tracing)
    local tls = table_of(t.upstream_tls)
    _M.upstream_tls = {
        profiles = table_of(tls.profiles),
        verify_depth = tonumber(tls.verify_depth) or 1,
        pools = tonumber(tls.pools) or 0,
    }
    return true
end

return _M
