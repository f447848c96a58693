-- proxy-cache's reading of HTTP: Cache-Control directives, the freshness of
-- an answer, whether an answer may be cached (Kong 3.9's rules: status,
-- media type with `type/*` and `*/*` wildcards and exact parameters,
-- private/no-store/no-cache and a positive lifetime under `cache_control`),
-- and the headers an entry keeps.
local media_type = require("kong.plugins.proxy-cache.media_type")

local ngx = ngx
local var = ngx.var
local time = ngx.time
local resp_get_headers = ngx.resp.get_headers
local parse_http_time = ngx.parse_http_time
local gmatch = string.gmatch
local match = string.match
local lower = string.lower
local find = string.find
local sub = string.sub
local concat = table.concat
local max = math.max
local pairs = pairs
local type = type
local tonumber = tonumber
local tostring = tostring

local _M = {}

local EMPTY = setmetatable({}, { __newindex = function() error("read-only", 2) end })
-- no directive at all (what a request's are when they do not count)
_M.NONE = EMPTY

-- not replayed from the cache: hop-by-hop headers, the length (the cached
-- body's own is sent), and what the gateway writes on every answer. The
-- plugin's own headers are stored, as Kong stores them (its Admin API shows
-- an entry's X-Cache-Key); a hit answers its own instead (handler.lua).
local NOT_STORED = {
    ["connection"] = true, ["keep-alive"] = true, ["proxy-authenticate"] = true,
    ["proxy-authorization"] = true, ["te"] = true, ["trailers"] = true,
    ["transfer-encoding"] = true, ["upgrade"] = true, ["content-length"] = true,
    ["date"] = true, ["server"] = true, ["via"] = true,
}

-- "no-cache, max-age=60" -> { ["no-cache"] = true, ["max-age"] = 60 }
function _M.parse(h)
    if not h then
        return EMPTY
    end
    if type(h) == "table" then
        h = concat(h, ", ")
    end
    local t = {}
    for part in gmatch(h, "[^,]+") do
        local name, value = match(part, "^%s*([^=]-)%s*=%s*(.-)%s*$")
        if not name then
            name = match(part, "^%s*(.-)%s*$")
        end
        if name ~= "" then
            t[lower(name)] = tonumber(value) or value or true
        end
    end
    return t
end

-- the lifetime the answer gives itself: s-maxage, max-age, else Expires
function _M.resource_ttl(cc)
    local max_age = cc["s-maxage"] or cc["max-age"]
    if type(max_age) ~= "number" then
        max_age = nil
        local expires = var.sent_http_expires
        if type(expires) == "table" then
            expires = expires[#expires]
        end
        local at = expires and parse_http_time(tostring(expires))
        if at then
            max_age = at - time()
        end
    end
    return max_age and max(max_age, 0) or 0
end

local function type_matches(conf, content_type)
    if not content_type or type(content_type) == "table" or content_type == "" then
        return false
    end
    return media_type.matches(conf, content_type)
end

-- The lifetime to store the answer with, or false when it is not cacheable.
function _M.cacheable_response(conf, cc)
    local status = ngx.status
    local codes = conf.response_code
    local found = false
    for i = 1, #codes do
        if codes[i] == status then
            found = true
            break
        end
    end
    if not found or not type_matches(conf, var.sent_http_content_type) then
        return false
    end
    if conf.cache_control then
        if cc["private"] or cc["no-store"] or cc["no-cache"] then
            return false
        end
        local ttl = _M.resource_ttl(cc)
        return ttl > 0 and ttl
    end
    return conf.cache_ttl
end

function _M.stored_headers()
    local out = {}
    for name, value in pairs(resp_get_headers(0, true)) do
        local l = lower(name)
        if not NOT_STORED[l] and sub(l, 1, 7) ~= "x-kong-"
           and not find(l, "ratelimit-remaining", 1, true) then
            out[name] = value
        end
    end
    return out
end

return _M
