-- proxy-cache's cache key, Kong's: the SHA-256 (hex) of
-- "<prefix>|<method>|<request line without its query>|<params>|<headers>",
-- prefix "<consumer id>:<route id>", "<route id>" or "default"; params the
-- `vary_query_params` present (all of them, sorted, when none is listed) as
-- "name=value" (repeated values sorted and joined by ",", a flag alone by
-- its name) joined by ":"; headers likewise, for the `vary_headers` only.
local kong = require("kongpy.pdk")
local crypto = require("kongpy.tools.crypto")
local lrucache = require("resty.lrucache")

local var = ngx.var
local find = string.find
local lower = string.lower
local sub = string.sub

local byte = string.byte
local format = string.format
local rep = string.rep
local concat = table.concat
local sort = table.sort
local pairs = pairs
local type = type
local tostring = tostring

local _M = {}

-- the keys of the texts this worker met lately: a repeated request costs a
-- lookup instead of a digest
local KEYS = 2000
local keys = lrucache.new(KEYS)
local HEX32 = rep("%02x", 32)

local function join(args, fields)
    local out = {}
    for i = 1, #fields do
        local field = fields[i]
        local arg = args[field]
        if arg then
            if type(arg) == "table" then
                sort(arg)
                out[#out + 1] = field .. "=" .. concat(arg, ",")
            elseif arg == true then
                out[#out + 1] = field
            else
                out[#out + 1] = field .. "=" .. tostring(arg)
            end
        end
    end
    return concat(out, ":")
end

function _M.params_key(params, conf)
    local fields = conf.vary_query_params
    if not (fields and fields[1]) then
        fields = {}
        for k in pairs(params) do
            fields[#fields + 1] = k
        end
        sort(fields)
    end
    return join(params, fields)
end

function _M.headers_key(headers, conf)
    local fields = conf.vary_headers
    if not (fields and fields[1]) then
        return ""
    end
    return join(headers, fields)
end

function _M.prefix(consumer_id, route_id)
    if consumer_id and route_id then
        return consumer_id .. ":" .. route_id
    end
    return route_id or "default"
end

-- The key of the already joined parts (the handler skips reading what the
-- configuration does not vary on).
function _M.build(prefix, method, uri, params_part, headers_part)
    local text = prefix .. "|" .. method .. "|" .. uri .. "|" .. params_part .. "|"
                 .. headers_part
    local key = keys:get(text)
    if not key then
        key = format(HEX32, byte(crypto.digest("sha256", text), 1, 32))
        keys:set(text, key)
    end
    return key
end

local function vary_headers(conf)
    local names = conf.vary_headers
    if not (names and names[1]) then
        return ""
    end
    local headers = {}
    for i = 1, #names do
        -- as get_headers()[name]: the value, or a table of a repeated one's
        headers[names[i]] = kong.request.get_header_values(names[i])
    end
    return _M.headers_key(headers, conf)
end

-- The key of the current request.
function _M.for_request(conf, method)
    local consumer = kong.client.get_consumer()
    local route = kong.router.get_route()
    -- Kong's quirk, kept for equal keys: the request line, query cut off
    -- (without a query the protocol stays in it)
    local uri = var.request
    local q = find(uri, "?", 1, true)
    if q then
        uri = sub(uri, 1, q - 1)
    end
    if conf.ignore_uri_case then
        uri = lower(uri)
    end
    -- the request line tells whether there is a query to read
    local params = q and _M.params_key(kong.request.get_query(), conf) or ""
    return _M.build(_M.prefix(consumer and consumer.id, route and route.id),
                    method, uri, params, vary_headers(conf))
end

return _M
