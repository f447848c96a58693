-- kong.service.request: changes to the request sent upstream. As in Kong,
-- $upstream_uri holds the path while the plugins run, and the query goes
-- upstream from the request's args once the access phase ends (kongpy.init):
-- a setter here and a plugin's own ngx.req.set_uri_args count alike.
local cjson = require("cjson.safe")
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")
local encode = require("kongpy.pdk.encode")
local path = require("kongpy.path")

local ngx = ngx
local var = ngx.var
local req = ngx.req
local unescape_uri = ngx.unescape_uri
local check = phase.check
local unsupported = phase.unsupported
local normalize = checks.normalize

local type = type
local error = error
local pairs = pairs
local ipairs = ipairs
local find = string.find
local sub = string.sub
local byte = string.byte
local lower = string.lower
local gmatch = string.gmatch
local concat = table.concat

local REWRITE_ACCESS = phase.new("rewrite", "access")
local WITH_BALANCER = phase.new("rewrite", "access", "balancer")
local PREREAD_BALANCER = phase.new("preread", "balancer")
local SLASH = byte("/")
local POST = "application/x-www-form-urlencoded"
local JSON = "application/json"
local MULTIPART = "multipart/form-data"
local NO_TLS_SWITCH = "switching upstream TLS in the balancer phase needs "
                      .. "lua-kong-nginx-module, which nginx 1.22 does not have"
local ERR_NO_MIME = "content type was neither explicitly given as an argument or received "
                    .. "as a header"
local METHODS = {
    GET = ngx.HTTP_GET, HEAD = ngx.HTTP_HEAD, PUT = ngx.HTTP_PUT, POST = ngx.HTTP_POST,
    DELETE = ngx.HTTP_DELETE, OPTIONS = ngx.HTTP_OPTIONS, MKCOL = ngx.HTTP_MKCOL,
    COPY = ngx.HTTP_COPY, MOVE = ngx.HTTP_MOVE, PROPFIND = ngx.HTTP_PROPFIND,
    PROPPATCH = ngx.HTTP_PROPPATCH, LOCK = ngx.HTTP_LOCK, UNLOCK = ngx.HTTP_UNLOCK,
    PATCH = ngx.HTTP_PATCH, TRACE = ngx.HTTP_TRACE,
}

local _M = {}

-- Kong's buffered proxying: the response phase sees the service's whole
-- answer (kongpy.buffered). Not for HTTP/2, as in Kong.
function _M.enable_buffering()
    check("kong.service.request.enable_buffering", WITH_BALANCER)
    local version = ngx.req.http_version()
    if version >= 2 then
        error("buffered proxying cannot currently be enabled with http/" .. version
              .. ", please use http/1.x instead", 2)
    end
    ngx.ctx.buffered_proxying = true
end

function _M.enable_tls()
    check("kong.service.request.enable_tls", PREREAD_BALANCER)
    unsupported("kong.service.request.enable_tls", NO_TLS_SWITCH)
end

function _M.disable_tls()
    check("kong.service.request.disable_tls", PREREAD_BALANCER)
    unsupported("kong.service.request.disable_tls", NO_TLS_SWITCH)
end

function _M.set_scheme(scheme)
    check("kong.service.request.set_scheme", WITH_BALANCER)
    if type(scheme) ~= "string" then
        error("scheme must be a string", 2)
    end
    if scheme ~= "http" and scheme ~= "https" then
        error("invalid scheme: " .. scheme, 2)
    end
    if ngx.get_phase() == "balancer" then
        unsupported("kong.service.request.set_scheme", NO_TLS_SWITCH)
    end
    var.upstream_scheme = scheme
    local ctx = ngx.ctx
    -- the access phase chooses the upstream TLS settings (kongpy.upstream_tls)
    -- by the scheme the request leaves with
    ctx.kongpy_scheme_set = true
    local service = ctx.kongpy_service
    if scheme == "https" and var.upstream_ssl_name == "" and service then
        var.upstream_ssl_name = service.ssl_name
    end
end

function _M.set_path(p)
    check("kong.service.request.set_path", WITH_BALANCER)
    if type(p) ~= "string" then
        error("path must be a string", 2)
    end
    if byte(p) ~= SLASH then
        error("path must start with /", 2)
    end
    var.upstream_uri = path.escape(p)
end

-- the query goes upstream from the request's args once the access phase
-- ends (kongpy.init), as in Kong
local function set_query_string(query)
    req.set_uri_args(query)
end

function _M.set_raw_query(query)
    check("kong.service.request.set_raw_query", REWRITE_ACCESS)
    if type(query) ~= "string" then
        error("query must be a string", 2)
    end
    set_query_string(query)
end

function _M.set_query(args)
    check("kong.service.request.set_query", REWRITE_ACCESS)
    if type(args) ~= "table" then
        error("args must be a table", 2)
    end
    local query, err = encode.ordered_args(args)
    if not query then
        error(err, 2)
    end
    set_query_string(query)
end

-- Removes every occurrence of one argument, keeping the others' order.
function _M.clear_query_arg(name)
    check("kong.service.request.clear_query_arg", REWRITE_ACCESS)
    if type(name) ~= "string" then
        error("query argument name must be a string", 2)
    end
    local args = var.args
    if not args or args == "" then
        return
    end
    local kept = {}
    for item in gmatch(args, "[^&]+") do
        local eq = find(item, "=", 1, true)
        local key = unescape_uri(eq and sub(item, 1, eq - 1) or item)
        if key ~= name then
            kept[#kept + 1] = item
        end
    end
    set_query_string(concat(kept, "&"))
end

function _M.set_method(method)
    check("kong.service.request.set_method", REWRITE_ACCESS)
    if type(method) ~= "string" then
        error("method must be a string", 2)
    end
    local id = METHODS[method]
    if not id then
        error("invalid method: " .. method, 2)
    end
    req.set_method(id)
end

-- Host sets the upstream Host ($upstream_host); only names of its length
-- (or :authority's) are lower-cased to find out.
local function special(name)
    local n = #name
    return (n == 4 or n == 10) and lower(name)
end

function _M.set_header(name, value)
    check("kong.service.request.set_header", WITH_BALANCER)
    checks.header(name, value)
    local l = special(name)
    if l == "host" then
        var.upstream_host = value
    elseif l == ":authority" then
        return nil, "cannot set :authority pseudo-header on non-grpc requests"
    end
    req.set_header(name, normalize(value))
end

function _M.add_header(name, value)
    check("kong.service.request.add_header", REWRITE_ACCESS)
    checks.header(name, value)
    if special(name) == "host" then
        var.upstream_host = value
    end
    local cur = req.get_headers()[name]
    if type(cur) ~= "table" then
        cur = { cur }
    end
    local add = normalize(value)
    if type(add) == "table" then
        for _, v in ipairs(add) do
            cur[#cur + 1] = v
        end
    else
        cur[#cur + 1] = add
    end
    req.set_header(name, cur)
end

function _M.clear_header(name)
    check("kong.service.request.clear_header", REWRITE_ACCESS)
    if type(name) ~= "string" then
        error("header must be a string", 2)
    end
    req.clear_header(name)
end

function _M.set_headers(headers)
    check("kong.service.request.set_headers", REWRITE_ACCESS)
    if type(headers) ~= "table" then
        error("headers must be a table", 2)
    end
    checks.headers(headers)
    for name, value in pairs(headers) do
        if special(name) == "host" then
            var.upstream_host = value
        end
        req.set_header(name, normalize(value))
    end
end

function _M.set_raw_body(body)
    check("kong.service.request.set_raw_body", WITH_BALANCER)
    if type(body) ~= "string" then
        error("body must be a string", 2)
    end
    req.read_body()
    req.set_body_data(body)
end

-- set_body(args, mimetype): args encoded as the given or the request's type.
function _M.set_body(args, mime)
    check("kong.service.request.set_body", REWRITE_ACCESS)
    if type(args) ~= "table" then
        error("args must be a table", 2)
    end
    if mime ~= nil and type(mime) ~= "string" then
        error("mime must be a string", 2)
    end
    mime = mime or var.content_type
    if not mime then
        return nil, ERR_NO_MIME
    end
    local bare = mime
    local s = find(mime, ";", 1, true)
    if s then
        bare = sub(mime, 1, s - 1)
    end
    local body, ctype, err
    if bare == POST then
        body, err = encode.ordered_args(args)
        if not body then
            error(err, 2)
        end
        ctype = mime
    elseif bare == JSON then
        body, err = cjson.encode(args)
        if not body then
            error(err, 2)
        end
        ctype = mime
    elseif bare == MULTIPART then
        body, ctype = encode.multipart(args, mime)
    else
        error("unsupported content type " .. mime, 2)
    end
    req.read_body()
    req.set_body_data(body)
    req.set_header("Content-Type", ctype)
    return true
end

return _M
