-- kong.tools.http: query-string, header-name and response-type helpers of
-- Kong 3.9.
local errors = require("kongpy.errors")

local ngx = ngx
local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local sort = table.sort
local concat = table.concat
local lower = string.lower
local byte = string.byte
local gsub = string.gsub
local format = string.format
local re_find = ngx.re.find

local _M = {}

local function keys_order(a, b)
    local ta, tb = type(a), type(b)
    if ta == tb then
        return a < b
    end
    return ta == "number"
end

-- As Kong escapes (LuaSocket's url.escape): all but letters, digits and "_",
-- as lower-case %xx.
local function hex(c)
    return format("%%%02x", byte(c))
end

local function escape(s)
    return (gsub(s, "[^%w_]", hex))
end

local function pair(key, value, raw)
    if not raw then
        key = escape(key)
    end
    if value == nil then
        return key
    end
    return key .. "=" .. (raw and value or escape(value))
end

local function nested(parent, value, raw, no_indexes, out)
    local keys = {}
    for k in pairs(value) do
        keys[#keys + 1] = k
    end
    sort(keys, keys_order)
    for _, k in ipairs(keys) do
        local v = value[k]
        local name
        if type(k) == "number" then
            name = no_indexes and parent .. "[]" or parent .. "[" .. tostring(k) .. "]"
        else
            name = parent .. "." .. tostring(k)
        end
        if type(v) == "table" then
            nested(name, v, raw, no_indexes, out)
        else
            out[#out + 1] = pair(name, tostring(v), raw)
        end
    end
end

-- encode_args(args, raw, no_array_indexes): Kong's querystring encoding
-- (sorted keys, arr[1] and struct.field for nested values, null as "").
function _M.encode_args(args, raw, no_indexes)
    local keys, out = {}, {}
    for k in pairs(args) do
        keys[#keys + 1] = k
    end
    sort(keys, keys_order)
    for _, k in ipairs(keys) do
        local v = args[k]
        if type(v) == "table" then
            nested(k, v, raw, no_indexes, out)
        elseif v == null then
            out[#out + 1] = pair(k, "")
        elseif v ~= nil or raw then
            v = tostring(v)
            if v ~= "" then
                out[#out + 1] = pair(k, v, raw)
            else
                out[#out + 1] = k
            end
        end
    end
    return concat(out, "&")
end

local function as_array(t)
    local n = 0
    for k in pairs(t) do
        n = n + 1
        if not tonumber(k) then
            return nil
        end
    end
    local arr = {}
    for i = 1, n do
        local v = t[tostring(i)]
        if v == nil then
            return nil
        end
        arr[i] = v
    end
    return arr
end

-- decode_args(args): form values as Kong's Admin API reads them ("" -> null,
-- "true"/"false" -> booleans, {["1"]=..} -> arrays).
function _M.decode_args(args)
    local out = {}
    for k, v in pairs(args) do
        if type(v) == "table" then
            v = as_array(v) or v
        elseif v == "" then
            v = null
        elseif v == "true" then
            v = true
        elseif v == "false" then
            v = false
        end
        out[k] = v
    end
    return out
end

-- check_https(trusted_ip, allow_terminated): the request came over TLS (or,
-- from a trusted peer, says it did in X-Forwarded-Proto).
function _M.check_https(trusted_ip, allow_terminated)
    if lower(ngx.var.scheme) == "https" then
        return true
    end
    if not allow_terminated or not trusted_ip then
        return false
    end
    local proto = ngx.req.get_headers()["x-forwarded-proto"]
    if type(proto) == "table" then
        return nil, "Only one X-Forwarded-Proto header allowed"
    end
    return lower(tostring(proto)) == "https"
end

-- validate_header_name(name): the name, or nil and Kong's message when it
-- holds anything but letters, digits, '_' and '-'.
function _M.validate_header_name(name)
    if type(name) ~= "string" then
        return nil, "header name must be a string"
    end
    if re_find(name, "^[a-zA-Z0-9-_]+$", "jo") then
        return name
    end
    return nil, "bad header name '" .. name
                .. "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
end

-- get_response_type(accept): the Content-Type of an error body for Accept.
_M.get_response_type = errors.response_type

-- get_error_template(mime): the format string of an error body (message,
-- request id) in that type.
function _M.get_error_template(mime)
    return errors.body(errors.template_type(mime or ""), "%s", "%s")
end

return _M
