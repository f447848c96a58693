-- The JSON Schema keywords kongpy.schema.jsonschema checks, by the JSON
-- type of the value, with lua-resty-ljsonschema's messages. `validate` is
-- the caller's, for nested schemas.
local equal = require("kongpy.schema.util").deep_equal

local re_find = ngx.re.find

local type = type
local pairs = pairs
local tostring = tostring
local floor = math.floor
local format = string.format
local len = string.len
local sort = table.sort

local _M = {}

function _M.object(value, schema, validate)
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

function _M.array(value, schema, validate)
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

function _M.string(value, schema)
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

function _M.number(value, schema)
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

function _M.combinators(value, schema, validate)
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

return _M
