-- JSON bodies that plugins edit and send on (request-transformer,
-- response-transformer): decoded so that an empty array stays an array when
-- encoded again, as Kong's cjson does with decode_array_with_array_mt.
-- Debian's cjson has no such switch: a body with an empty array (a rare
-- case, found with one pattern search) has its empty arrays swapped for a
-- marker before decoding, and the marker for kongpy's array metatable
-- after; pdk.encode.json honours that metatable when encoding.
local cjson = require("cjson")
local array_mt = require("kongpy.schema.util").array_mt
local encode = require("kongpy.pdk.encode")

local type = type
local next = next
local pairs = pairs
local pcall = pcall
local setmetatable = setmetatable
local find = string.find
local sub = string.sub
local concat = table.concat

local MARK = "\0kongpy-empty-array\0"
local MARK_JSON = '["\\u0000kongpy-empty-array\\u0000"]'

local _M = {}

-- the end of the JSON string starting at `i` (a quote)
local function string_end(text, i)
    local p = i + 1
    while true do
        local q = find(text, '["\\]', p)
        if not q then
            return #text
        end
        if sub(text, q, q) == '"' then
            return q
        end
        p = q + 2
    end
end

local function mark_empty_arrays(text)
    local out, from, pos = {}, 1, 1
    while true do
        local i = find(text, '["%[]', pos)
        if not i then
            break
        end
        if sub(text, i, i) == '"' then
            pos = string_end(text, i) + 1
        else
            local _, e = find(text, "^%s*%]", i + 1)
            if e then
                out[#out + 1] = sub(text, from, i - 1)
                out[#out + 1] = MARK_JSON
                from = e + 1
                pos = e + 1
            else
                pos = i + 1
            end
        end
    end
    out[#out + 1] = sub(text, from)
    return concat(out)
end

local function is_mark(t)
    return t[1] == MARK and next(t, 1) == nil
end

local function restore(t)
    for k, v in pairs(t) do
        if type(v) == "table" then
            if is_mark(v) then
                t[k] = setmetatable({}, array_mt)
            else
                restore(v)
            end
        end
    end
    return t
end

-- decode(text): the value, or nil and cjson's message.
function _M.decode(text)
    if type(text) ~= "string" then
        return nil, "expected a string"
    end
    local marked = find(text, "%[%s*%]") ~= nil
    local ok, value = pcall(cjson.decode, marked and mark_empty_arrays(text) or text)
    if not ok then
        return nil, value
    end
    if marked and type(value) == "table" then
        if is_mark(value) then
            return setmetatable({}, array_mt)
        end
        restore(value)
    end
    return value
end

-- is_array(text): the JSON text is an array at its top level (whose
-- elements no name-based edit reaches: Kong's decoder marks it an array,
-- and the encoder then writes its elements only).
function _M.is_array(text)
    return find(text, "^%s*%[") ~= nil
end

-- encode(value): JSON text, empty arrays kept.
function _M.encode(value)
    return encode.json(value)
end

return _M
