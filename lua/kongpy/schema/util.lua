-- Table helpers shared by the schema modules: emptiness and sequence tests,
-- dotted paths ("config.redis.host") into values, errors and definitions,
-- deep copies and comparisons. Kong gets these from penlight and
-- kong.tools.table; we have neither, so they live here.
local cjson = require("cjson")

local null = ngx.null

local type = type
local pairs = pairs
local next = next
local tostring = tostring
local floor = math.floor
local find = string.find
local sub = string.sub
local format = string.format
local concat = table.concat
local setmetatable = setmetatable
local getmetatable = getmetatable

local _M = {}

-- Marks tables that must encode as JSON arrays even when empty: cjson's
-- array_mt where the cjson build has one (OpenResty's), else our own
-- marker, which kongpy.schema.encode honours (Debian's cjson has none).
_M.array_mt = cjson.array_mt or { __jsontype = "array" }

-- Empty means nil, null, "" or a table without entries.
function _M.is_nonempty(value)
    if value == nil or value == null then
        return false
    end
    local t = type(value)
    if t == "table" then
        return next(value) ~= nil
    end
    return not (t == "string" and value == "")
end

-- A table whose keys are exactly 1..n.
function _M.is_sequence(t)
    if type(t) ~= "table" then
        return false
    end
    local count, max = 0, 0
    for k in pairs(t) do
        count = count + 1
        if t[count] == nil or type(k) ~= "number" or k < 0 or floor(k) ~= k then
            return false
        end
        if k > max then
            max = k
        end
    end
    return count == max
end

-- {"a", "b"} -> "'a', 'b'"; nested lists become "('a', 'b'), ('c')".
local function quoted_list(words)
    local out = {}
    for i = 1, #words do
        local word = words[i]
        if type(word) == "table" then
            out[i] = format("(%s)", quoted_list(word))
        else
            out[i] = format("'%s'", tostring(word))
        end
    end
    return concat(out, ", ")
end
_M.quoted_list = quoted_list

local function get_field(tbl, name)
    if tbl == nil or tbl == null or type(tbl) ~= "table" then
        return nil
    end
    local dot = find(name, ".", 1, true)
    if not dot then
        return tbl[name]
    end
    return get_field(tbl[sub(name, 1, dot - 1)], sub(name, dot + 1))
end
_M.get_field = get_field

-- Creates the intermediate tables; a non-table on the way (an error string
-- already recorded for the parent) is left as it is.
local function set_field(tbl, name, value)
    local dot = find(name, ".", 1, true)
    if not dot then
        tbl[name] = value
        return
    end
    local head = sub(name, 1, dot - 1)
    local child = tbl[head]
    if child == nil then
        child = {}
        tbl[head] = child
    elseif type(child) ~= "table" then
        return
    end
    set_field(child, sub(name, dot + 1), value)
end
_M.set_field = set_field

-- The definition of a possibly nested field: fields are reachable by name
-- (Schema.new indexes records too).
local function get_schema_field(schema, name)
    if schema == nil or type(schema.fields) ~= "table" then
        return nil
    end
    local dot = find(name, ".", 1, true)
    if not dot then
        return schema.fields[name]
    end
    return get_schema_field(schema.fields[sub(name, 1, dot - 1)], sub(name, dot + 1))
end
_M.get_schema_field = get_schema_field

-- A value by a list of keys: table_path(t, {"redis", "host"}).
function _M.table_path(t, path)
    local current = t
    for i = 1, #path do
        if type(current) ~= "table" then
            return nil
        end
        current = current[path[i]]
    end
    return current
end

-- Deep copy keeping metatables (array markers, set lookups) and sharing
-- functions and userdata; shared sub-tables and cycles copy once.
local function deep_copy(t, seen)
    if type(t) ~= "table" then
        return t
    end
    seen = seen or {}
    if seen[t] then
        return seen[t]
    end
    local out = {}
    seen[t] = out
    for k, v in pairs(t) do
        out[k] = deep_copy(v, seen)
    end
    return setmetatable(out, getmetatable(t))
end
_M.deep_copy = deep_copy

local function deep_equal(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return false
    end
    for k, v in pairs(a) do
        if not deep_equal(v, b[k]) then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end
_M.deep_equal = deep_equal

-- Two sequences holding equal elements, in any order.
function _M.same_elements(a, b)
    if type(a) ~= "table" or type(b) ~= "table" or #a ~= #b then
        return false
    end
    local used = {}
    for i = 1, #a do
        local found = false
        for j = 1, #b do
            if not used[j] and deep_equal(a[i], b[j]) then
                used[j] = true
                found = true
                break
            end
        end
        if not found then
            return false
        end
    end
    return true
end

-- Shallow merge, `top` wins.
function _M.merge(bottom, top)
    local out = {}
    for k, v in pairs(bottom or {}) do
        out[k] = v
    end
    for k, v in pairs(top or {}) do
        out[k] = v
    end
    return out
end

-- Shallow merge where a null in `top` does not hide a value of `bottom`.
function _M.null_aware_merge(bottom, top)
    local out = {}
    for k, v in pairs(bottom or {}) do
        out[k] = v
    end
    for k, v in pairs(top or {}) do
        if out[k] == nil or v ~= null then
            out[k] = v
        end
    end
    return out
end

-- The subschema chosen by the value of `subschema_key` (for a set, the
-- first element that names one).
local function get_subschema(self, input)
    local subschemas, key = self.subschemas, self.subschema_key
    if not (subschemas and key) or type(input) ~= "table" then
        return nil
    end
    local value = input[key]
    if type(value) == "string" then
        return subschemas[value]
    end
    if type(value) == "table" then
        for i = 1, #value do
            local subschema = subschemas[value[i]]
            if subschema then
                return subschema
            end
        end
    end
    return nil
end
_M.get_subschema = get_subschema

-- A Kong vault reference ("{vault://env/name}"). References are kept as
-- given: nothing here resolves them.
function _M.is_reference(value)
    return type(value) == "string" and #value > 10 and sub(value, 1, 9) == "{vault://"
        and sub(value, -1) == "}"
end

return _M
