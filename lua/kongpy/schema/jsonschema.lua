-- A small JSON Schema (draft 4 core) validator for Kong's `json` fields,
-- since lua-resty-ljsonschema is not packaged for Debian. It covers the
-- keywords inline field schemas use (type, enum, const, properties,
-- required, additionalProperties, items, lengths, sizes, bounds, pattern,
-- allOf/anyOf/oneOf/not) with ljsonschema's messages; others ($ref,
-- formats, dependencies) are accepted without being checked.
local util = require("kongpy.schema.util")
local keywords = require("kongpy.schema.jsonschema_keywords")

local array_mt = util.array_mt
local equal = util.deep_equal

local null = ngx.null

local type = type
local pairs = pairs
local next = next
local tostring = tostring
local getmetatable = getmetatable
local floor = math.floor
local huge = math.huge
local format = string.format
local concat = table.concat

local _M = {}

local registry = {}

-- Lua tables are JSON arrays or objects by their keys; an empty table is
-- either (ljsonschema's heuristic mode, the one Kong configures).
local function json_type(v)
    local t = type(v)
    if v == null then
        return "null"
    elseif t == "string" or t == "boolean" then
        return t
    elseif t == "number" then
        return (v == floor(v) and v > -huge and v < huge) and "integer" or "number"
    elseif t == "table" then
        if getmetatable(v) == array_mt then
            return "array"
        end
        if next(v) == nil then
            return "empty"
        end
        local n = 0
        for k in pairs(v) do
            if type(k) ~= "number" then
                return "object"
            end
            n = n + 1
        end
        return n == #v and "array" or "object"
    end
    return t
end

local function is_type(actual, wanted)
    if actual == wanted then
        return true
    end
    if actual == "empty" then
        return wanted == "object" or wanted == "array"
    end
    return actual == "integer" and wanted == "number"
end

local function shown_type(actual)
    return actual == "empty" and "object" or actual
end

local validate

local function check_type(value, schema, actual)
    local wanted = schema.type
    if wanted == nil then
        return true
    end
    if type(wanted) == "table" then
        for i = 1, #wanted do
            if is_type(actual, wanted[i]) then
                return true
            end
        end
        return nil, format("wrong type: expected one of %s, got %s",
                           concat(wanted, ", "), shown_type(actual))
    end
    if is_type(actual, wanted) then
        return true
    end
    return nil, format("wrong type: expected %s, got %s", wanted, shown_type(actual))
end

validate = function(value, schema)
    if schema == false then
        return nil, "schema does not allow any value"
    end
    if type(schema) ~= "table" then
        return true
    end
    local actual = json_type(value)
    local ok, err = check_type(value, schema, actual)
    if not ok then
        return nil, err
    end
    if schema.enum then
        local found = false
        for i = 1, #schema.enum do
            if equal(value, schema.enum[i]) then
                found = true
                break
            end
        end
        if not found then
            return nil, "matches none of the enum values"
        end
    end
    if schema.const ~= nil and not equal(value, schema.const) then
        return nil, format("expected %s to be equal to %s", tostring(value),
                           tostring(schema.const))
    end
    if actual == "object" or actual == "empty" then
        ok, err = keywords.object(value, schema, validate)
    end
    if ok and (actual == "array" or actual == "empty") then
        ok, err = keywords.array(value, schema, validate)
    end
    if ok and actual == "string" then
        ok, err = keywords.string(value, schema)
    end
    if ok and (actual == "number" or actual == "integer") then
        ok, err = keywords.number(value, schema)
    end
    if not ok then
        return nil, err
    end
    return keywords.combinators(value, schema, validate)
end

-- true, or nil and a message.
function _M.validate(value, schema)
    return validate(value, schema)
end

-- Named schemas for json fields that pick theirs by a sibling attribute
-- (json_schema.namespace .. "/" .. value of parent_subschema_key).
function _M.add_schema(name, schema)
    registry[name] = schema
end

function _M.get_schema(name)
    return registry[name]
end

function _M.remove_schema(name)
    registry[name] = nil
end

return _M
