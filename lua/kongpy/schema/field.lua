-- Validation of one value against one field definition: null handling, the
-- type check, the members of arrays, sets and maps, nested records (with
-- their own defaults and entity checks), foreign keys, then the validators.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local validators = require("kongpy.schema.validators")
local deprecation = require("kongpy.schema.deprecation")
local jsonschema = require("kongpy.schema.jsonschema")

local null = ngx.null

local type = type
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local floor = math.floor
local huge = math.huge

local is_sequence = util.is_sequence
local is_reference = util.is_reference

local _M = {}

local SIMPLE_TYPES = { number = "NUMBER", boolean = "BOOLEAN" }

-- One Schema object per record definition, made on first use.
local record_schemas = setmetatable({}, { __mode = "k" })

function _M.record_schema(field)
    local schema = record_schemas[field]
    if not schema then
        local err
        schema, err = require("kong.db.schema").new(field)
        if not schema then
            return nil, err
        end
        record_schemas[field] = schema
    end
    return schema
end

local validate_field

-- Members of aggregates are always required: a null member is an error.
local function validate_member(self, field, value, ctx)
    if value == null then
        if field.ne == null then
            return nil, field.err or msg.NE:format("null")
        end
        if field.eq ~= nil and field.eq ~= null then
            return nil, msg.EQ:format(tostring(field.eq))
        end
        return nil, msg.REQUIRED
    end
    return validate_field(self, field, value, ctx)
end

local function validate_elements(self, field, value, ctx)
    local errs
    local elements = field.elements
    for i = 1, #value do
        local ok, err = validate_member(self, elements, value[i], ctx)
        if not ok then
            errs = errs or {}
            errs[i] = err
        end
    end
    if errs then
        return nil, errs
    end
    return true
end

local function validate_map(self, field, value, ctx)
    for k, v in pairs(value) do
        local ok, err = validate_member(self, field.keys, k, ctx)
        if not ok then
            return nil, err
        end
        ok, err = validate_member(self, field.values, v, ctx)
        if not ok then
            return nil, err
        end
    end
    return true
end

local function validate_record(field, value, ctx)
    local schema, err = _M.record_schema(field)
    if not schema then
        return nil, err
    end
    local copy, errs = schema:process_auto_fields(value, "insert")
    if not copy then
        return nil, errs
    end
    return require("kongpy.schema.validate").validate(schema, copy, true, nil, nil, ctx)
end

local function validate_foreign(field, value)
    local foreign = require("kongpy.schema.registry").get(field.reference)
    if not foreign then
        return nil, msg.SCHEMA_BAD_REFERENCE:format(tostring(field.reference))
    end
    local ok, errs = foreign:validate_primary_key(type(value) == "table" and value or {}, true)
    if not ok then
        if type(value) == "table" then
            local fok, ferrs = foreign:validate(value, false)
            if not fok then
                return nil, ferrs
            end
        end
        return nil, errs
    end
    return true
end

-- Checks the type of `value`; true when the validators may run, or
-- false/nil plus a message, or "done" when nothing else applies.
local function check_type(self, field, value, ctx)
    local ftype = field.type
    if ftype == "string" then
        if type(value) ~= "string" then
            return nil, msg.STRING
        end
        if field.referenceable and is_reference(value) then
            return "done"
        end
    elseif ftype == "integer" then
        if type(value) ~= "number" or value ~= floor(value) or value == huge
           or value == -huge then
            return nil, msg.INTEGER
        end
    elseif ftype == "array" or ftype == "set" then
        if not is_sequence(value) then
            return nil, ftype == "array" and msg.ARRAY or msg.SET
        end
        return validate_elements(self, field, value, ctx)
    elseif ftype == "map" then
        if type(value) ~= "table" then
            return nil, msg.MAP
        end
        return validate_map(self, field, value, ctx)
    elseif ftype == "record" then
        if type(value) ~= "table" then
            return nil, msg.RECORD
        end
        return validate_record(field, value, ctx)
    elseif ftype == "foreign" then
        return validate_foreign(field, value)
    elseif ftype == "function" then
        if type(value) ~= "function" then
            return nil, msg.FUNCTION
        end
    elseif ftype == "json" then
        local inline = field.json_schema and field.json_schema.inline
        if inline then
            return jsonschema.validate(value, inline)
        end
    elseif SIMPLE_TYPES[ftype] then
        if type(value) ~= ftype then
            return nil, msg[SIMPLE_TYPES[ftype]]
        end
    elseif ftype ~= "any" then
        -- "any" is the marker conditional checks use: validators only
        return nil, msg.SCHEMA_TYPE:format(tostring(ftype))
    end
    return true
end

-- true, or nil and an error: a string, or a table for aggregates.
validate_field = function(self, field, value, ctx)
    if value == null then
        if field.ne == null then
            return nil, field.err or msg.NE:format("null")
        end
        if field.eq ~= nil and field.eq ~= null then
            return nil, msg.EQ:format(tostring(field.eq))
        end
        if field.required then
            return nil, msg.REQUIRED
        end
        return true
    end

    if field.eq == null then
        return nil, field.err or msg.EQ:format("null")
    end

    if field.abstract then
        return nil, msg.SUBSCHEMA_ABSTRACT_FIELD
    end

    if field.deprecation then
        deprecation.field_used(field, value)
    end

    local ok, err = check_type(self, field, value, ctx)
    if ok == "done" then
        return true
    end
    if not ok then
        return nil, err
    end
    return validators.run(field, value)
end
_M.validate_field = validate_field
_M.validate_member = validate_member

return _M
