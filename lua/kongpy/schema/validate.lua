-- Whole-entity validation: every given field against its definition (the
-- subschema's where one applies), required fields, entity checks, the
-- input/needs pairing of transformations. Errors come back in Kong's
-- shape: field name -> message, record -> nested table, array -> table by
-- index, and "@entity" -> array of cross-field messages.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local field_mod = require("kongpy.schema.field")
local checkers_mod = require("kongpy.schema.checkers")
local jsonschema = require("kongpy.schema.jsonschema")

local null = ngx.null

local type = type
local pairs = pairs
local next = next
local tostring = tostring
local setmetatable = setmetatable
local insert = table.insert

local get_field = util.get_field
local set_field = util.set_field
local get_schema_field = util.get_schema_field
local is_nonempty = util.is_nonempty
local is_reference = util.is_reference
local validate_field = field_mod.validate_field
local checkers = checkers_mod.checkers
local mutually_required = checkers_mod.mutually_required

local _M = {}

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
            local sub = subschemas[value[i]]
            if sub then
                return sub
            end
        end
    end
    return nil
end
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

local function entity_error(errors, err)
    local list = errors["@entity"]
    if not list then
        list = {}
        errors["@entity"] = list
    end
    insert(list, err)
end
_M.entity_error = entity_error

-- What Kong prints for a checker that fails without a message.
local function describe_arg(v)
    if type(v) == "table" then
        local parts = {}
        for k, x in pairs(v) do
            parts[#parts + 1] = tostring(k) .. " = " .. describe_arg(x)
        end
        table.sort(parts)
        return "{ " .. table.concat(parts, ", ") .. " }"
    end
    return type(v) == "string" and ('"' .. v .. '"') or tostring(v)
end

local function check_fields(self, checker, arg)
    local names, required = {}, {}
    local sources = checker.field_sources
    if not sources then
        for i = 1, #arg do
            names[i] = arg[i]
            required[arg[i]] = true
        end
        return names, required
    end
    for i = 1, #sources do
        local v = arg[sources[i]]
        local is_required = checker.required_fields and checker.required_fields[sources[i]]
        if type(v) == "string" then
            v = { v }
        end
        if type(v) == "table" then
            for j = 1, #v do
                names[#names + 1] = v[j]
                if is_required then
                    required[v[j]] = true
                end
            end
        end
    end
    return names, required
end

local function run_entity_check(self, name, input, arg, full_check, errors, ctx)
    local checker = checkers[name]
    if not checker then
        entity_error(errors, msg.ENTITY_CHECK:format(name, describe_arg(arg)))
        return
    end
    local names, required = check_fields(self, checker, arg)
    local projection, missing = {}, nil
    local all_nil, all_ok = true, true
    local with_missing = checker.run_with_missing_fields or arg.run_with_missing_fields
    for i = 1, #names do
        local fname = names[i]
        local value = get_field(input, fname)
        local def = get_schema_field(self, fname)
        if value == nil then
            if not with_missing and required[fname] and not (def and def.nilable) then
                missing = missing or {}
                missing[#missing + 1] = fname
            end
        else
            all_nil = false
            if def and def.type == "string" and def.referenceable and is_reference(value) then
                return
            end
        end
        if errors[fname] then
            all_ok = false
        end
        set_field(projection, fname, value)
    end
    if not all_ok and not checker.run_with_invalid_fields and not arg.run_with_invalid_fields then
        return
    end
    if all_nil and not (checker.run_with_missing_fields and full_check) then
        return
    end
    if missing then
        for i = 1, #missing do
            set_field(errors, missing[i], msg.get("REQUIRED_FOR_ENTITY_CHECK", ctx))
        end
        return
    end
    local ok, err, custom = checker.fn(projection, arg, self, errors, ctx)
    if ok then
        return
    end
    if custom then
        entity_error(errors, custom)
        return
    end
    local template = msg.get(name:upper(), ctx)
    if template and err then
        err = template:format(err)
    end
    entity_error(errors, err or msg.ENTITY_CHECK:format(name, describe_arg({ name = arg })))
end

local function run_checks(self, input, full_check, checks, errors, ctx)
    for i = 1, #(checks or {}) do
        local name, arg = next(checks[i])
        if arg and arg ~= null then
            run_entity_check(self, name, input, arg, full_check, errors, ctx)
        end
    end
end

-- The legacy `check` function: runs on full entities only.
local function run_self_check(self, input, errors)
    local ok = true
    for fname, field in self:each_field() do
        if input[fname] == nil and not field.nilable then
            errors[fname] = msg.REQUIRED_FOR_ENTITY_CHECK
            ok = false
        end
    end
    if not ok then
        return
    end
    local err
    ok, err = self.check(input)
    if ok then
        return
    end
    if type(err) == "string" then
        entity_error(errors, err)
    elseif type(err) == "table" then
        for k, v in pairs(err) do
            if type(k) == "number" then
                entity_error(errors, v)
            else
                errors[k] = v
            end
        end
    else
        entity_error(errors, msg.CHECK)
    end
end

local function run_entity_checks(self, input, full_check, errors, ctx)
    run_checks(self, input, full_check, self.entity_checks, errors, ctx)
    local subschema = get_subschema(self, input)
    if subschema and subschema.entity_checks then
        -- the subschema's checks see its fields over the parent's
        local fields = setmetatable({}, {
            __index = function(_, k)
                return subschema.fields[k] or self.fields[k]
            end,
        })
        local proxy = setmetatable({}, {
            __index = function(_, k)
                if k == "fields" then
                    return fields
                end
                return self[k]
            end,
        })
        run_checks(proxy, input, full_check, subschema.entity_checks, errors, ctx)
    end
    if self.check and full_check then
        run_self_check(self, input, errors)
    end
end

-- Transformations with `input`/`needs`: their fields come all or none.
local function run_transformation_checks(schema, input, original, rbw, errors)
    local list = schema.transformations or {}
    for i = 1, #list do
        local t = list[i]
        if t.input or t.needs then
            local args, none_set, changed = {}, true, false
            local source = original or input
            for _, name in ipairs(t.input or {}) do
                if is_nonempty(get_field(source, name)) then
                    none_set = false
                end
                args[#args + 1] = name
            end
            for _, name in ipairs(t.needs or {}) do
                if rbw and not changed and get_field(source, name) ~= get_field(rbw, name) then
                    changed = true
                end
                args[#args + 1] = name
            end
            if changed or not none_set then
                local ok, err = mutually_required(changed and original or input, args)
                if not ok then
                    entity_error(errors, msg.MUTUALLY_REQUIRED:format(err))
                else
                    ok, err = mutually_required(source, t.input or {})
                    if not ok then
                        entity_error(errors, msg.MUTUALLY_REQUIRED:format(err))
                    end
                end
            end
        end
    end
    local subschema = get_subschema(schema, input)
    if subschema then
        run_transformation_checks(subschema, input, original, rbw, errors)
    end
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
    run_entity_checks(self, input, full_check, errors, ctx)
    run_transformation_checks(self, input, original, rbw, errors)
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
