-- kong.service.response: the response the service sent, as it was before the
-- gateway and plugins added headers. The body is not available: Kong reads
-- it only under buffered proxying, which kongpy does not run.
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")

local ngx = ngx
local var = ngx.var
local get_resp_headers = ngx.resp.get_headers
local check = phase.check

local type = type
local error = error
local pairs = pairs
local tonumber = tonumber
local getmetatable = getmetatable
local setmetatable = setmetatable
local sub = string.sub
local gsub = string.gsub
local match = string.match

local HEADER_BODY_LOG = phase.new("header_filter", "body_filter", "log")
local MAX_HEADERS = 100
-- Kong's message: its service body needs kong.service.request.enable_buffering,
-- which kongpy refuses.
local ERR_BUFFERING = "service body is only available with buffered proxying "
                      .. "(see: kong.service.request.enable_buffering function)"

local _M = {}

function _M.get_status()
    check("kong.service.response.get_status", HEADER_BODY_LOG)
    return tonumber(sub(var.upstream_status or "", -3))
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
    local all, err = get_resp_headers(checks.limit("max_headers", max_headers, MAX_HEADERS))
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
    error("kong.service.response.get_raw_body: " .. ERR_BUFFERING, 2)
end

function _M.get_body()
    check("kong.service.response.get_body", HEADER_BODY_LOG)
    error("kong.service.response.get_body: " .. ERR_BUFFERING, 2)
end

return _M
