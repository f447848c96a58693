-- A small JSON Schema (draft 4 core) validator for Kong's `json` fields,
-- since lua-resty-ljsonschema is not packaged for Debian. It covers the
-- keywords inline field schemas use (type, enum, const, properties,
-- required, additionalProperties, items, lengths, sizes, bounds, pattern,
-- allOf/anyOf/oneOf/not) with ljsonschema's messages; others ($ref,
-- formats, dependencies) are accepted without being checked.
local array_mt = require("kongpy.schema.util").array_mt

local null = ngx.null
local re_find = ngx.re.find

local type = type
local pairs = pairs
local next = next
local tostring = tostring
local getmetatable = getmetatable
local floor = math.floor
local format = string.format
local len = string.len
local sort = table.sort

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
        return (v == floor(v) and v > -math.huge and v < math.huge) and "integer" or "number"
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

local function equal(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return false
    end
    for k, v in pairs(a) do
        if not equal(v, b[k]) then
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
                           table.concat(wanted, ", "), shown_type(actual))
    end
    if is_type(actual, wanted) then
        return true
    end
    return nil, format("wrong type: expected %s, got %s", wanted, shown_type(actual))
end

local function check_object(value, schema)
    local required = schema.required
    if type(required) == "table" then
        for i = 1, #required do
            if value[required[i]] == nil then
                return nil, format("property %s is required", required[i])
            end
        end
    end
    local props = schema.properties or {}
    local keys = {}
    for k in pairs(value) do
        keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    local extra = schema.additionalProperties
    for i = 1, #keys do
        local k = keys[i]
        local sub = props[k]
        if sub then
            local ok, err = validate(value[k], sub)
            if not ok then
                return nil, format("property %s validation failed: %s", k, err)
            end
        elseif extra == false then
            return nil, format("additional properties forbidden, found %s", k)
        elseif type(extra) == "table" then
            local ok, err = validate(value[k], extra)
            if not ok then
                return nil, format("additional property %s validation failed: %s", k, err)
            end
        end
    end
    if schema.minProperties and #keys < schema.minProperties then
        return nil, format("expect object to have at least %s properties", schema.minProperties)
    end
    if schema.maxProperties and #keys > schema.maxProperties then
        return nil, format("expect object to have at most %s properties", schema.maxProperties)
    end
    return true
end

local function check_array(value, schema)
    local n = #value
    if schema.minItems and n < schema.minItems then
        return nil, format("expect array to have at least %s items", schema.minItems)
    end
    if schema.maxItems and n > schema.maxItems then
        return nil, format("expect array to have at most %s items", schema.maxItems)
    end
    local items = schema.items
    if type(items) == "table" then
        local tuple = items[1] ~= nil
        for i = 1, n do
            local sub = tuple and items[i] or (not tuple and items)
            if sub then
                local ok, err = validate(value[i], sub)
                if not ok then
                    return nil, format("failed to validate item %d: %s", i, err)
                end
            end
        end
    end
    if schema.uniqueItems then
        for i = 1, n do
            for j = i + 1, n do
                if equal(value[i], value[j]) then
                    return nil, format("expected unique items but items %d and %d are equal",
                                       i, j)
                end
            end
        end
    end
    return true
end

local function check_string(value, schema)
    local n = len(value)
    if schema.minLength and n < schema.minLength then
        return nil, format("string too short, expected at least %d, got %d",
                           schema.minLength, n)
    end
    if schema.maxLength and n > schema.maxLength then
        return nil, format("string too long, expected at most %d, got %d", schema.maxLength, n)
    end
    if schema.pattern and not re_find(value, schema.pattern, "jo") then
        return nil, format("failed to match pattern %q with %q", schema.pattern, value)
    end
    return true
end

local function check_number(value, schema)
    local min, max = schema.minimum, schema.maximum
    local xmin, xmax = schema.exclusiveMinimum, schema.exclusiveMaximum
    if type(xmin) == "number" and value <= xmin then
        return nil, format("expected %s to be greater than %s", value, xmin)
    end
    if type(xmax) == "number" and value >= xmax then
        return nil, format("expected %s to be smaller than %s", value, xmax)
    end
    if min then
        if xmin == true and value <= min then
            return nil, format("expected %s to be greater than %s", value, min)
        elseif value < min then
            return nil, format("expected %s to be at least %s", value, min)
        end
    end
    if max then
        if xmax == true and value >= max then
            return nil, format("expected %s to be smaller than %s", value, max)
        elseif value > max then
            return nil, format("expected %s to be at most %s", value, max)
        end
    end
    local m = schema.multipleOf
    if m and (value / m) ~= floor(value / m) then
        return nil, format("expected %s to be a multiple of %s", value, m)
    end
    return true
end

local function check_combinators(value, schema)
    if schema.allOf then
        for i = 1, #schema.allOf do
            local ok, err = validate(value, schema.allOf[i])
            if not ok then
                return nil, format("allOf %d failed: %s", i, err)
            end
        end
    end
    if schema.anyOf then
        local any = false
        for i = 1, #schema.anyOf do
            if validate(value, schema.anyOf[i]) then
                any = true
                break
            end
        end
        if not any then
            return nil, "object matches none of the alternatives"
        end
    end
    if schema.oneOf then
        local first
        for i = 1, #schema.oneOf do
            if validate(value, schema.oneOf[i]) then
                if first then
                    return nil, format("value should match only one schema, but matches "
                                       .. "both schemas %d and %d", first, i)
                end
                first = i
            end
        end
        if not first then
            return nil, "object matches none of the alternatives"
        end
    end
    if schema["not"] ~= nil and validate(value, schema["not"]) then
        return nil, "value wasn't supposed to match schema"
    end
    return true
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
        ok, err = check_object(value, schema)
    end
    if ok and (actual == "array" or actual == "empty") then
        ok, err = check_array(value, schema)
    end
    if ok and actual == "string" then
        ok, err = check_string(value, schema)
    end
    if ok and (actual == "number" or actual == "integer") then
        ok, err = check_number(value, schema)
    end
    if not ok then
        return nil, err
    end
    return check_combinators(value, schema)
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
