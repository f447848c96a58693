-- kong.service.response: the response the service sent, as it was before the
-- gateway and plugins added headers. Its body only under buffered proxying
-- (kong.service.request.enable_buffering, or a plugin with a response
-- handler), as in Kong: kongpy.buffered keeps status, headers and body in
-- ngx.ctx.
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")
local limits = require("kongpy.limits")
local body = require("kongpy.pdk.body")

local ngx = ngx
local var = ngx.var
local get_resp_headers = ngx.resp.get_headers
local check = phase.check

local type = type
local error = error
local pairs = pairs
local tonumber = tonumber
local rawget = rawget
local getmetatable = getmetatable
local setmetatable = setmetatable
local sub = string.sub
local gsub = string.gsub
local lower = string.lower
local match = string.match

local HEADER_BODY_LOG = phase.new("response", "header_filter", "body_filter", "log")
-- Kong's message: the service body needs kong.service.request.enable_buffering.
local ERR_BUFFERING = "service body is only available with buffered proxying "
                      .. "(see: kong.service.request.enable_buffering function)"

local _M = {}

function _M.get_status()
    check("kong.service.response.get_status", HEADER_BODY_LOG)
    local buffered = ngx.ctx.buffered_status
    if buffered then
        return buffered
    end
    return tonumber(sub(var.upstream_status or "", -3))
end

local function normalize(name)
    return lower((gsub(name, "_", "-")))
end

-- The buffered answer's headers, looked up as ngx.resp.get_headers() does
-- (any case, "_" for "-"); at most `max` of them.
local buffered_mt = {
    __index = function(t, name)
        if type(name) == "string" then
            return rawget(t, normalize(name))
        end
    end,
}

local function buffered_headers(headers, max)
    local out, n, err = {}, 0, nil
    for name, value in pairs(headers) do
        n = n + 1
        if n > max then
            err = "truncated"
            break
        end
        out[lower(name)] = value
    end
    return setmetatable(out, buffered_mt), err
end

-- The address of the last upstream tried ("ip:port"), or nil.
function _M.get_upstream()
    check("kong.service.response.get_upstream", HEADER_BODY_LOG)
    local addrs = var.upstream_addr
    return addrs and match(addrs, "([^,%s]+)%s*$") or nil
end

-- Only the headers the service sent ($upstream_http_*), with the same
-- case-insensitive lookup as ngx.resp.get_headers().
function _M.get_headers(max_headers)
    check("kong.service.response.get_headers", HEADER_BODY_LOG)
    local max = checks.limit("max_headers", max_headers, limits.resp_headers)
    local buffered = ngx.ctx.buffered_headers
    if buffered then
        return buffered_headers(buffered, max)
    end
    local all, err = get_resp_headers(max)
    local out = {}
    for name, value in pairs(all) do
        if var["upstream_http_" .. gsub(name, "-", "_")] then
            out[name] = value
        end
    end
    return setmetatable(out, getmetatable(all)), err
end

function _M.get_header(name)
    check("kong.service.response.get_header", HEADER_BODY_LOG)
    if type(name) ~= "string" then
        error("name must be a string", 2)
    end
    local v = _M.get_headers()[name]
    if type(v) == "table" then
        return v[1]
    end
    return v
end

function _M.get_raw_body()
    check("kong.service.response.get_raw_body", HEADER_BODY_LOG)
    local ctx = ngx.ctx
    if not ctx.buffered_proxying then
        error(ERR_BUFFERING, 2)
    end
    return ctx.buffered_body or ""
end

-- get_body(mimetype, max_args): the buffered body decoded by its type.
function _M.get_body(mimetype, max_args)
    check("kong.service.response.get_body", HEADER_BODY_LOG)
    local ctx = ngx.ctx
    if not ctx.buffered_proxying then
        error(ERR_BUFFERING, 2)
    end
    local ctype = mimetype or _M.get_header("Content-Type")
    return body.decode(ctx.buffered_body or "", ctype, max_args)
end

return _M
