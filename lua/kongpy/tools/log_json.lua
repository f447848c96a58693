-- JSON encoding of the log entries (kongpy.tools.log_entry), written
-- into a LuaJIT string.buffer. lua-cjson formats every number through
-- snprintf("%.14g") (~270 ns an integer, ~420 a timestamp) where LuaJIT's
-- own formatting of the same "%.14g" takes ~30-50, and a log object holds
-- some thirty numbers. The output is lua-cjson's (its default settings),
-- byte for byte: the same escapes ("/" as "\/", DEL as "\u007f", other
-- bytes above 127 as they are), numbers, key order (both walk the table
-- with next), empty tables as {}, arrays by cjson's rule (positive integer
-- keys only; holes as null; an "excessively sparse" one refused) and the
-- same errors.
--
-- freeze(t): `t` never changes again (the log object's copies of the
-- route, service and consumer, made once per configuration version): its
-- encoding is kept (weakly, with the table) and reused.
local buffer = require("string.buffer")
local ffi = require("ffi")

-- (another module may have declared it already)
pcall(ffi.cdef, "size_t strcspn(const char *s, const char *reject);")

local ngx = ngx
local null = ngx.null

local type = type
local next = next
local pairs = pairs
local error = error
local pcall = pcall
local setmetatable = setmetatable
local floor = math.floor
local huge = math.huge
local strcspn = ffi.C.strcspn
local gsub = string.gsub
local char = string.char
local format = string.format

local MAX_DEPTH = 1000
-- cjson's encode_sparse_ratio and encode_sparse_safe defaults
local SPARSE_RATIO = 2
local SPARSE_SAFE = 10
local ERR_SPARSE = "Cannot serialise table: excessively sparse array"
local ERR_NUMBER = "Cannot serialise number: must not be NaN or Inf"
local ERR_DEPTH = "Cannot serialise, excessive nesting (%d)"
local ERR_KEY = "Cannot serialise %s: table key must be a number or string"
local ERR_TYPE = "Cannot serialise %s: type not supported"
local UNSAFE = '[%c"\\/]'

local REJECT = '"\\/\127'
for i = 1, 31 do
    REJECT = REJECT .. char(i)
end

local ESCAPES = {}
for i = 0, 31 do
    ESCAPES[char(i)] = format("\\u%04x", i)
end
ESCAPES["\b"], ESCAPES["\t"], ESCAPES["\n"] = "\\b", "\\t", "\\n"
ESCAPES["\f"], ESCAPES["\r"] = "\\f", "\\r"
ESCAPES['"'], ESCAPES["\\"], ESCAPES["/"], ESCAPES["\127"] = '\\"', "\\\\", "\\/", "\\u007f"

local _M = {}

-- frozen table -> true until its first encoding, then that encoding
local frozen = setmetatable({}, { __mode = "k" })

function _M.freeze(t)
    frozen[t] = true
    return t
end

-- strcspn() stops at the first byte to escape (or a NUL): a string with
-- none, most of them, is copied as it is. find() with a character class
-- costs ~750 ns a string, strcspn() ~60 (it builds its table of 35 bytes
-- on every call): the short strings met lately (keys, header values,
-- methods, paths) are remembered with their verdict, ~15 ns. At most
-- SEEN_MAX of them: then the table starts again, so strings an attacker
-- varies (header names and values) cannot make it grow.
local SEEN_LEN = 128
local SEEN_MAX = 4096
local seen = {}
local seen_n = 0

local function put_string(buf, s)
    local known = seen[s]
    if known == true then
        buf:put('"', s, '"')
        return
    elseif known then
        buf:put(known)
        return
    end
    local out = true
    if strcspn(s, REJECT) < #s then
        out = '"' .. gsub(s, UNSAFE, ESCAPES) .. '"'
        buf:put(out)
    else
        buf:put('"', s, '"')
    end
    if #s <= SEEN_LEN then
        if seen_n >= SEEN_MAX then
            seen, seen_n = {}, 0
        end
        seen[s] = out
        seen_n = seen_n + 1
    end
end

local function put_number(buf, n)
    if n ~= n or n == huge or n == -huge then
        error(ERR_NUMBER, 0)
    end
    buf:put(n)
end

-- cjson's array test: the largest key when every key is a positive
-- integer (0 for an empty table, encoded as an object), else -1
local function array_length(t)
    local k = next(t)
    if type(k) == "string" then
        -- most tables: no loop to find it
        return -1
    end
    local max, items = 0, 0
    while k ~= nil do
        if type(k) ~= "number" or k < 1 or floor(k) ~= k then
            return -1
        end
        if k > max then
            max = k
        end
        items = items + 1
        k = next(t, k)
    end
    if max > items * SPARSE_RATIO and max > SPARSE_SAFE then
        error(ERR_SPARSE, 0)
    end
    return max
end

local put_value

local function put_table(buf, t, depth)
    local done = frozen[t]
    if done then
        if done == true then
            -- not frozen while it is encoded: a table that cannot be
            -- encoded stays a plain one
            frozen[t] = nil
            local own = buffer.new()
            put_table(own, t, depth)
            done = own:tostring()
            frozen[t] = done
        end
        buf:put(done)
        return
    end
    depth = depth + 1
    if depth > MAX_DEPTH then
        error(format(ERR_DEPTH, depth), 0)
    end
    local len = array_length(t)
    if len > 0 then
        buf:put("[")
        put_value(buf, t[1], depth)
        for i = 2, len do
            buf:put(",")
            put_value(buf, t[i], depth)
        end
        buf:put("]")
        return
    end
    buf:put("{")
    local first = true
    for k, v in pairs(t) do
        if first then
            first = false
        else
            buf:put(",")
        end
        local tk = type(k)
        if tk == "string" then
            put_string(buf, k)
        elseif tk == "number" then
            buf:put('"')
            put_number(buf, k)
            buf:put('"')
        else
            error(format(ERR_KEY, tk), 0)
        end
        buf:put(":")
        put_value(buf, v, depth)
    end
    buf:put("}")
end

put_value = function(buf, v, depth)
    local tv = type(v)
    if tv == "string" then
        put_string(buf, v)
    elseif tv == "number" then
        put_number(buf, v)
    elseif tv == "table" then
        put_table(buf, v, depth)
    elseif tv == "boolean" then
        buf:put(v and "true" or "false")
    elseif v == nil or v == null then
        buf:put("null")
    else
        error(format(ERR_TYPE, tv), 0)
    end
end

-- Appends `sep` (if any) and the encoding of `value` to `buf`: true, or
-- nil, err with both taken back.
function _M.put(buf, value, sep)
    local mark = #buf
    if sep then
        buf:put(sep)
    end
    local ok, err = pcall(put_value, buf, value, 0)
    if ok then
        return true
    end
    -- a buffer cannot be cut from the end: keep what came before
    local before = buf:get(mark)
    buf:reset()
    buf:put(before)
    return nil, err
end

local scratch = buffer.new()

-- cjson.safe.encode(value): the JSON text, or nil, err.
function _M.encode(value)
    scratch:reset()
    local ok, err = _M.put(scratch, value)
    if not ok then
        return nil, err
    end
    return scratch:tostring()
end

return _M
