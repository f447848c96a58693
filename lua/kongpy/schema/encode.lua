-- JSON for schema documents and processed entities. Debian's cjson cannot
-- be told that an empty table is an array, and Kong's /schemas bodies and
-- defaults depend on it ("default": [] vs {}), so this encoder honours the
-- array marker of kongpy.schema.util. Object keys are sorted: equal
-- documents give equal bytes.
local array_mt = require("kongpy.schema.util").array_mt

local null = ngx.null

local type = type
local pairs = pairs
local tostring = tostring
local tonumber = tonumber
local pcall = pcall
local getmetatable = getmetatable
local byte = string.byte
local format = string.format
local gsub = string.gsub
local concat = table.concat
local sort = table.sort
local floor = math.floor
local huge = math.huge
local error = error

local ERR_TYPE = "cannot encode a value of type "
local MAX_EXACT = 2 ^ 53

local _M = {}

local ESCAPES = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["/"] = "\\/",
}

local function escape_char(c)
    return ESCAPES[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
    return '"' .. gsub(s, '[%c"\\/]', escape_char) .. '"'
end

local function encode_number(n)
    if n ~= n or n == huge or n == -huge then
        error(ERR_TYPE .. "number (" .. tostring(n) .. ")", 0)
    end
    -- Every integer a double holds exactly (up to 2^53) is written whole:
    -- "%.14g" would turn 10^15 into 1e+15 and round 2^53 - 1.
    if n == floor(n) and n >= -MAX_EXACT and n <= MAX_EXACT then
        return format("%d", n)
    end
    return format("%.14g", n)
end

-- Arrays: marked ones, and tables keyed by positive integers only that
-- cjson would encode as arrays (holes become null unless the array is
-- "excessively sparse": beyond index 10 and under half full).
local function array_length(t)
    if getmetatable(t) == array_mt then
        return #t
    end
    local n, max = 0, 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or floor(k) ~= k then
            return nil
        end
        n = n + 1
        if k > max then
            max = k
        end
    end
    if n == 0 or (max > 10 and max > n * 2) then
        return nil
    end
    return max
end

local encode

local function encode_table(t)
    local len = array_length(t)
    if len then
        local parts = {}
        for i = 1, len do
            parts[i] = encode(t[i])
        end
        return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(t) do
        keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    local parts = {}
    for i = 1, #keys do
        local k = keys[i]
        local v = t[k]
        if v == nil then
            v = t[tonumber(k)]
        end
        parts[i] = encode_string(k) .. ":" .. encode(v)
    end
    return "{" .. concat(parts, ",") .. "}"
end

encode = function(v)
    local t = type(v)
    if v == nil or v == null then
        return "null"
    elseif t == "boolean" then
        return v and "true" or "false"
    elseif t == "number" then
        return encode_number(v)
    elseif t == "string" then
        return encode_string(v)
    elseif t == "table" then
        return encode_table(v)
    end
    error(ERR_TYPE .. t, 0)
end

-- A JSON text, or nil and an error for functions, userdata and NaN.
function _M.encode(value)
    local ok, res = pcall(encode, value)
    if not ok then
        return nil, res
    end
    return res
end

return _M
