-- kong.db.schema: Kong 3.9's schema language for the plugins we run
-- unchanged. A schema is its definition table (deep-copied) with methods:
-- fields stay an array of single-key tables and are also reachable by name,
-- records too. The work is done by the kongpy.schema.* modules; this file
-- builds schema objects and subschemas and keeps Kong's public names.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local validators = require("kongpy.schema.validators")
local field_mod = require("kongpy.schema.field")
local checkers = require("kongpy.schema.checkers")
local validate_mod = require("kongpy.schema.validate")
local auto = require("kongpy.schema.auto")
local transform = require("kongpy.schema.transform")
local registry = require("kongpy.schema.registry")
local jsonform = require("kongpy.schema.jsonform")

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local assert = assert
local setmetatable = setmetatable
local concat = table.concat
local insert = table.insert

local get_subschema = validate_mod.get_subschema
local resolve_field = validate_mod.resolve_field

local UPDATE = { updating = true }

local Schema = {}
Schema.__index = Schema

Schema.valid_types = {
    array = true, set = true, string = true, number = true, boolean = true,
    integer = true, foreign = true, map = true, record = true, ["function"] = true,
    json = true,
}
Schema.validators = validators.checks
Schema.validators_order = validators.ORDER
Schema.entity_checkers = checkers.checkers

-- Iterates (name, definition) in declaration order; with `values`, the
-- subschema they select specializes the fields.
function Schema:each_field(values)
    local i = 1
    local subschema = values and get_subschema(self, values)
    return function()
        local item = self.fields[i]
        if not item then
            return nil
        end
        local key = next(item)
        local field = resolve_field(self, key, item[key], subschema)
        i = i + 1
        return key, field
    end
end

function Schema:validate_field(field, value)
    return field_mod.validate_field(self, field, value)
end

-- true, or nil and Kong's error table. full_check (default true) demands
-- every required field; false is for partial updates.
function Schema:validate(input, full_check, original_input, rbw_entity)
    return validate_mod.validate(self, input, full_check, original_input, rbw_entity)
end

function Schema:validate_insert(input, original_input)
    return validate_mod.validate(self, input, true, original_input)
end

-- Partial input; cross-field messages say "when updating".
function Schema:validate_update(input, original_input, rbw_entity)
    return validate_mod.validate(self, input, false, original_input, rbw_entity, UPDATE)
end

function Schema:validate_upsert(input, original_input)
    return validate_mod.validate(self, input, true, original_input)
end

function Schema:validate_primary_key(pk, ignore_others)
    return validate_mod.validate_primary_key(self, pk, ignore_others)
end

function Schema:validate_immutable_fields(input, entity)
    return validate_mod.validate_immutable_fields(self, input, entity)
end

function Schema:process_auto_fields(data, context, nulls, opts)
    return auto.process_auto_fields(self, data, context, nulls, opts)
end

function Schema:merge_values(top, bottom)
    return transform.merge_values(self, top, bottom)
end

function Schema:has_transformations(input)
    return transform.has_transformations(self, input)
end

function Schema:transform(input, original_input, context)
    return transform.transform(self, input, original_input, context)
end

-- "Validation error: ..." from an error table, or nil.
function Schema:errors_to_string(errors)
    if type(errors) ~= "table" or not next(errors) then
        return nil
    end
    local parts = {}
    for _, err in ipairs(errors["@entity"] or {}) do
        insert(parts, err)
    end
    for i = 1, #errors do
        insert(parts, errors[i])
    end
    for k, err in pairs(errors) do
        if k ~= "@entity" and type(k) == "string" then
            if type(err) == "table" then
                err = self:errors_to_string(err)
            end
            insert(parts, k .. ": " .. err)
        end
    end
    return msg.ERROR:format(concat(parts, "; "))
end

function Schema:extract_pk_values(entity)
    local out = {}
    for _, name in ipairs(self.primary_key or {}) do
        out[name] = entity[name]
    end
    return out
end

-- Who references this schema: { schema, field_name, on_delete } entries.
function Schema:get_constraints()
    return registry.constraints(self.name)
end

-- The body of GET /schemas/{entity} (see kongpy.schema.jsonform).
function Schema:to_json()
    return jsonform.schema_to_jsonable(self)
end

-- What a storage layer needs to know (see kongpy.schema.jsonform).
function Schema:describe()
    return jsonform.describe(self)
end

-- Records (and their records) answer fields by name, like schemas.
local function index_record(record, seen)
    if seen[record] then
        return
    end
    seen[record] = true
    for _, item in ipairs(record.fields) do
        local name, field = next(item)
        if name ~= nil then
            record.fields[name] = field
            if type(field) == "table" and field.type == "record" and field.fields then
                index_record(field, seen)
            end
        end
    end
end

-- A schema object, or nil and a message. `is_subschema` keeps a
-- subschema's foreign keys out of the referenced schemas' constraints.
function Schema.new(definition, is_subschema)
    if type(definition) ~= "table" then
        return nil, msg.SCHEMA_NO_DEFINITION
    end
    if type(definition.fields) ~= "table" then
        return nil, msg.SCHEMA_NO_FIELDS
    end
    local self = setmetatable(util.deep_copy(definition), Schema)
    if self.cache_key then
        self.cache_key_set = {}
        for _, name in ipairs(self.cache_key) do
            self.cache_key_set[name] = true
        end
    end
    local seen = {}
    for key, field in self:each_field() do
        self.fields[key] = field
        if field.type == "record" and field.fields then
            index_record(field, seen)
        elseif field.type == "foreign" then
            if not registry.get(field.reference) then
                return nil, msg.SCHEMA_BAD_REFERENCE:format(tostring(field.reference))
            end
            if not is_subschema and self.name then
                registry.add_constraint(field.reference, self, key, field.on_delete)
            end
        end
    end
    if self.name then
        registry.register(self)
    end
    return self
end

local function compatible(a, b)
    if a.type ~= b.type then
        return false
    end
    if a.type == "array" or a.type == "set" then
        return (a.elements or {}).type == (b.elements or {}).type
    end
    if a.type == "map" then
        return (a.keys or {}).type == (b.keys or {}).type
            and (a.values or {}).type == (b.values or {}).type
    end
    return true
end

-- Adds the subschema `key` (a plugin's name for the plugins entity): true,
-- or nil and a message.
function Schema.new_subschema(self, key, definition)
    assert(type(key) == "string", "key must be a string")
    assert(type(definition) == "table", "definition must be a table")
    if not self.subschema_key then
        return nil, msg.SUBSCHEMA_BAD_PARENT:format(key, tostring(self.name))
    end
    local subschema, err = Schema.new(definition, true)
    if not subschema then
        return nil, err
    end
    local parent = {}
    for _, item in ipairs(self.fields) do
        local name, field = next(item)
        parent[name] = field
    end
    for name, field in subschema:each_field() do
        if not parent[name] then
            return nil, msg.SUBSCHEMA_BAD_FIELD:format(key, name)
        end
        if not compatible(parent[name], field) then
            return nil, msg.SUBSCHEMA_BAD_TYPE:format(key, name)
        end
    end
    for name, field in pairs(parent) do
        if field.abstract and field.required and not subschema.fields[name] then
            return nil, msg.SUBSCHEMA_UNDEFINED_FIELD:format(key, name)
        end
    end
    self.subschemas = self.subschemas or {}
    self.subschemas[key] = subschema
    return true
end

-- Typedefs: a definition callable with overrides returns a copy of them
-- completed by the definition's attributes (typedefs.port { default = 80 }).
local DEFINE_MT = {
    __call = function(t, arg)
        arg = arg or {}
        for k, v in pairs(t) do
            if arg[k] == nil then
                arg[k] = v
            end
        end
        return arg
    end,
}

function Schema.define(tbl)
    return setmetatable(tbl, DEFINE_MT)
end

return Schema
