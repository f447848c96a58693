-- Whole-entity validation: every given field against its definition (the
-- subschema's where one applies), required fields, then the cross-field
-- checks of kongpy.schema.entity_checks. Errors come back in Kong's shape:
-- field name -> message, record -> nested table, array -> table by index,
-- and "@entity" -> array of cross-field messages.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local field_mod = require("kongpy.schema.field")
local jsonschema = require("kongpy.schema.jsonschema")
local entity_checks = require("kongpy.schema.entity_checks")

local null = ngx.null

local type = type
local pairs = pairs
local next = next
local tostring = tostring

local validate_field = field_mod.validate_field
local get_subschema = util.get_subschema

local _M = {}

_M.get_subschema = get_subschema

function _M.resolve_field(self, k, field, subschema)
    field = field or self.fields[tostring(k)]
    if not field then
        return nil, msg.UNKNOWN
    end
    if subschema then
        local specialized = subschema.fields[k]
        if specialized then
            field = specialized
        end
    end
    return field
end
local resolve_field = _M.resolve_field

local function validate_json(self, k, field, input)
    local spec = field.json_schema or {}
    if spec.inline then
        local _, err = jsonschema.validate(input[k], spec.inline)
        return err
    end
    local parent_key = spec.parent_subschema_key
    local selector = parent_key and input[parent_key]
    if selector and selector ~= null then
        local name = tostring(spec.namespace) .. "/" .. tostring(selector)
        local schema = jsonschema.get_schema(name) or spec.default
        if schema then
            local _, err = jsonschema.validate(input[k], schema)
            return err
        end
        if not spec.optional then
            return msg.JSON_SCHEMA_NOT_FOUND:format(name)
        end
    elseif parent_key and not spec.optional then
        return msg.JSON_PARENT_KEY_MISSING:format(k, parent_key)
    end
    return nil
end

-- `ttl` (on ttl schemas) and `updated_at` are not validated, as in Kong.
local function unvalidated(self, k)
    return k == "updated_at" or (k == "ttl" and self.ttl)
end

local function validate_fields(self, input, ctx)
    local errors = {}
    local subschema = get_subschema(self, input)
    for k, v in pairs(input) do
        local field = self.fields[tostring(k)]
        if field and field.type == "json" then
            errors[k] = validate_json(self, k, field, input)
        elseif not unvalidated(self, k) then
            local err
            field, err = resolve_field(self, k, field, subschema)
            if field then
                local _
                _, errors[k] = validate_field(self, field, v, ctx)
            else
                errors[k] = err
            end
        end
    end
    return errors
end

-- true, or nil and the error table.
function _M.validate(self, input, full_check, original, rbw, ctx)
    if full_check == nil then
        full_check = true
    end
    if type(input) ~= "table" then
        return nil, { ["@entity"] = { msg.BAD_INPUT } }
    end
    local key = self.subschema_key
    if key then
        local value = input[key]
        if value == nil or value == null then
            return nil, { [key] = msg.REQUIRED }
        end
        -- A selector of the wrong type (`"name": true`) is a type error of
        -- its own field, not an unknown subschema.
        local selector = self.fields[key]
        if selector then
            local _, type_err = validate_field(self, selector, value, ctx)
            if type_err then
                return nil, { [key] = type_err }
            end
        end
        if not get_subschema(self, input) then
            local template = self.subschema_error or msg.SUBSCHEMA_UNKNOWN
            return nil, { [key] = template:format(type(value) == "string" and value
                                                  or tostring(value[1])) }
        end
    end
    local errors = validate_fields(self, input, ctx)
    for name, field in self:each_field() do
        local v = input[name]
        if field.required and (v == null or (full_check and v == nil)) then
            errors[name] = msg.REQUIRED
        end
    end
    entity_checks.run(self, input, full_check, errors, ctx)
    entity_checks.run_transformation_checks(self, input, original, rbw, errors)
    if next(errors) then
        return nil, errors
    end
    return true
end

function _M.validate_primary_key(self, pk, ignore_others)
    local errors, in_pk = {}, {}
    local primary_key = self.primary_key or {}
    for i = 1, #primary_key do
        local k = primary_key[i]
        in_pk[k] = true
        local field, v = self.fields[k], pk[k]
        if not v then
            errors[k] = msg.MISSING_PK
        elseif (field.required or field.auto) and v == null then
            errors[k] = msg.REQUIRED
        else
            local _
            _, errors[k] = validate_field(self, field, v)
        end
    end
    if not ignore_others then
        for k in pairs(pk) do
            if not in_pk[k] then
                errors[k] = msg.NOT_PK
            end
        end
    end
    if next(errors) then
        return nil, errors
    end
    return true
end

function _M.validate_immutable_fields(self, input, entity)
    local errors = {}
    for key, field in self:each_field(input) do
        local new, old = input[key], entity[key]
        if field.immutable and old ~= nil then
            local same
            if util.is_sequence(new) and next(new) then
                same = util.same_elements(new, old)
            else
                same = util.deep_equal(new, old)
            end
            if not same then
                errors[key] = msg.IMMUTABLE
            end
        end
    end
    if next(errors) then
        return nil, errors
    end
    return true, errors
end

return _M
