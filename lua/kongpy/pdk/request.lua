-- kong.request: read-only views of the client request (Kong 3.9's functions,
-- arguments, limits and phase checks). The body readers live in
-- kongpy.pdk.body. The forwarded views read the nginx maps that already
-- decide, per request, whether the peer is in trusted_ips ($kongpy_trusted).
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")
local body = require("kongpy.pdk.body")
local path = require("kongpy.path")
local settings = require("kongpy.settings")
local array_mt = require("kongpy.schema.util").array_mt

local ngx = ngx
local var = ngx.var
local get_headers = ngx.req.get_headers
local get_uri_args = ngx.req.get_uri_args
local get_method = ngx.req.get_method
local http_version = ngx.req.http_version
local start_time = ngx.req.start_time
local check = phase.check
local check_not = phase.check_not
local limit = checks.limit

local type = type
local error = error
local pairs = pairs
local setmetatable = setmetatable
local tonumber = tonumber
local find = string.find
local sub = string.sub
local lower = string.lower
local gsub = string.gsub

local REQUEST = phase.REQUEST
local INIT_WORKER = phase.PHASES.init_worker

local _M = {
    get_raw_body = body.get_raw_body,
    get_body = body.get_body,
    get_body_size = body.get_body_size,
    get_header_values = body.get_header_values,
    -- set by kongpy.init: the router's (cached) answer for this request
    rematch = nil,
}

-- "X-Custom_Header" -> "http_x_custom_header", computed once per name (the
-- memo is dropped when plugins ask for many different names)
local var_names, n_names = {}, 0
local MAX_NAMES = 1000

local function header_var(name)
    local v = var_names[name]
    if not v then
        v = "http_" .. gsub(lower(name), "-", "_")
        if n_names >= MAX_NAMES then
            var_names, n_names = {}, 0
        end
        var_names[name] = v
        n_names = n_names + 1
    end
    return v
end

-- The first value of a request header, or nil.
function _M.get_header(name)
    check("kong.request.get_header", REQUEST)
    if type(name) ~= "string" then
        error("header name must be a string", 2)
    end
    return var[header_var(name)]
end

function _M.get_headers(max_headers)
    check("kong.request.get_headers", REQUEST)
    return get_headers(limit("max_headers", max_headers))
end

function _M.get_query(max_args)
    check("kong.request.get_query", REQUEST)
    return get_uri_args(limit("max_args", max_args))
end

function _M.get_query_arg(name)
    check("kong.request.get_query_arg", REQUEST)
    if type(name) ~= "string" then
        error("query argument name must be a string", 2)
    end
    local v = get_uri_args()[name]
    if type(v) == "table" then
        return v[1]
    end
    return v
end

function _M.get_method()
    check("kong.request.get_method", REQUEST)
    return get_method()
end

function _M.get_scheme()
    check("kong.request.get_scheme", REQUEST)
    return var.scheme
end

function _M.get_host()
    check("kong.request.get_host", REQUEST)
    return var.host
end

function _M.get_port()
    check_not("kong.request.get_port", INIT_WORKER)
    return tonumber(var.server_port)
end

function _M.get_http_version()
    check("kong.request.get_http_version", REQUEST)
    return http_version()
end

local function raw_path()
    local uri = var.request_uri or ""
    local q = find(uri, "?", 2, true)
    return q and sub(uri, 1, q - 1) or uri
end

-- The path as the router saw it: percent-decoded (reserved characters
-- excepted), dot segments resolved, repeated slashes merged.
function _M.get_path()
    check("kong.request.get_path", REQUEST)
    return path.normalize(raw_path())
end

function _M.get_raw_path()
    check("kong.request.get_raw_path", REQUEST)
    return raw_path()
end

function _M.get_path_with_query()
    check("kong.request.get_path_with_query", REQUEST)
    return var.request_uri or ""
end

function _M.get_raw_query()
    check("kong.request.get_raw_query", REQUEST)
    return var.args or ""
end

-- Milliseconds since the epoch, as Kong reports it.
function _M.get_start_time()
    check("kong.request.get_start_time", REQUEST)
    return start_time() * 1000
end

-- The value of one cookie, or nil (kongpy's own).
function _M.get_cookie(name)
    check("kong.request.get_cookie", REQUEST)
    return var["cookie_" .. name]
end

-- The forwarded views: the client's X-Forwarded-* count only from a peer in
-- trusted_ips, as in Kong (real_ip_header/recursive already applied by nginx).
local function trusted()
    return var.kongpy_trusted == "1"
end

local function strip_host(host)
    local s = find(host, "@", 1, true)
    if s then
        host = sub(host, s + 1)
    end
    return host
end

function _M.get_forwarded_scheme()
    check("kong.request.get_forwarded_scheme", REQUEST)
    local scheme = trusted() and var.http_x_forwarded_proto
    return scheme and lower(scheme) or var.scheme
end

function _M.get_forwarded_host()
    check("kong.request.get_forwarded_host", REQUEST)
    local host = trusted() and var.http_x_forwarded_host
    if not host then
        return var.host
    end
    host = strip_host(host)
    local s = find(host, ":", 1, true)
    return lower(s and sub(host, 1, s - 1) or host)
end

local function valid_port(p)
    p = tonumber(p, 10)
    return p and p >= 1 and p <= 65535 and p or nil
end

function _M.get_forwarded_port()
    check("kong.request.get_forwarded_port", REQUEST)
    if trusted() then
        local port = valid_port(var.http_x_forwarded_port)
        if port then
            return port
        end
        local host = var.http_x_forwarded_host
        if host then
            host = strip_host(host)
            local s = find(host, ":", 1, true)
            port = s and valid_port(sub(host, s + 1))
            if port then
                return port
            end
        end
    end
    -- port_maps: the port the client reached, as in Kong
    local port = var.server_port
    return settings.host_ports[port] or tonumber(port)
end

function _M.get_forwarded_path()
    check("kong.request.get_forwarded_path", REQUEST)
    local p = trusted() and var.http_x_forwarded_path
    return p or path.normalize(raw_path())
end

-- What the route stripped (nil when nothing was), unless a trusted client
-- sent its own X-Forwarded-Prefix.
function _M.get_forwarded_prefix()
    check("kong.request.get_forwarded_prefix", REQUEST)
    local prefix = trusted() and var.http_x_forwarded_prefix
    if prefix then
        return prefix
    end
    prefix = var.upstream_x_forwarded_prefix
    if prefix == "" then
        return nil
    end
    return prefix
end

local EMPTY = {}

-- Captures of the route's regex path: {unnamed = {...}, named = {...}}. The
-- router's answer is cached per request shape, so asking again costs a lookup
-- and nothing is stored per request for callers that never ask.
function _M.get_uri_captures()
    check("kong.request.get_uri_captures", REQUEST)
    local res = _M.rematch and _M.rematch()
    local captures = res and res.captures or EMPTY
    local unnamed, named = {}, {}
    for k, v in pairs(captures) do
        if type(k) == "number" then
            -- [0] is the whole match, as in Kong (JSON leaves it out)
            unnamed[k] = v
        else
            named[k] = v
        end
    end
    -- Kong's shape: `unnamed` stays a JSON array when empty
    return { unnamed = setmetatable(unnamed, array_mt), named = named }
end

return _M
