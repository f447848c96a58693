-- Cross-field checks of a whole entity: the declared entity_checks (the
-- parent's, then the selected subschema's), the legacy `check` function
-- and the all-or-none rule of transformations with `input`/`needs`. Each
-- checker gets only the fields it names; when it may run (missing or
-- invalid fields, partial updates) follows Kong's rules.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local checkers_mod = require("kongpy.schema.checkers")

local null = ngx.null

local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local tostring = tostring
local setmetatable = setmetatable
local insert = table.insert
local sort = table.sort
local concat = table.concat

local get_field = util.get_field
local set_field = util.set_field
local get_schema_field = util.get_schema_field
local get_subschema = util.get_subschema
local is_nonempty = util.is_nonempty
local is_reference = util.is_reference
local checkers = checkers_mod.checkers
local mutually_required = checkers_mod.mutually_required

local _M = {}

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
        sort(parts)
        return "{ " .. concat(parts, ", ") .. " }"
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

function _M.run(self, input, full_check, errors, ctx)
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
                -- a needed field the update leaves out keeps its stored value
                local value = get_field(source, name)
                if rbw and not changed and is_nonempty(value)
                        and value ~= get_field(rbw, name) then
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
_M.run_transformation_checks = run_transformation_checks

return _M
