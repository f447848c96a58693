-- Entity checkers: cross-field rules declared in `entity_checks`. Each
-- checker sees a projection of the entity holding only the fields it names
-- (so partial updates can skip it), its argument and the schema, and
-- returns true or nil plus the text for its message, optionally followed
-- by a custom message. The runner (kongpy.schema.validate) decides when a
-- checker runs; the flags below are Kong's.
local msg = require("kongpy.schema.messages")
local util = require("kongpy.schema.util")
local field_mod = require("kongpy.schema.field")

local null = ngx.null

local format = string.format
local setmetatable = setmetatable

local is_nonempty = util.is_nonempty
local get_field = util.get_field
local set_field = util.set_field
local get_schema_field = util.get_schema_field
local quoted_list = util.quoted_list

local _M = {}

local checkers = {}
_M.checkers = checkers

-- The if/then matchers of conditional checks inherit the attributes of the
-- field they test; a proxy does that without touching the declaration.
local function matcher(match, schema, name)
    local base = get_schema_field(schema, name) or {}
    return setmetatable({}, {
        __index = function(_, k)
            local v = match[k]
            if v == nil then
                v = base[k]
            end
            return v
        end,
    })
end

local function any_nonempty(entity, names)
    for i = 1, #names do
        if is_nonempty(get_field(entity, names[i])) then
            return true
        end
    end
    return false
end

local function nonempty_names(entity, names)
    local out = {}
    for i = 1, #names do
        if is_nonempty(get_field(entity, names[i])) then
            out[#out + 1] = names[i]
        end
    end
    return out
end

local function mutually_required(entity, names)
    local n = #nonempty_names(entity, names)
    if n == 0 or n == #names then
        return true
    end
    return nil, quoted_list(names)
end
_M.mutually_required = mutually_required

checkers.at_least_one_of = {
    run_with_missing_fields = true,
    run_with_invalid_fields = true,
    fn = function(entity, names)
        if any_nonempty(entity, names) then
            return true
        end
        return nil, quoted_list(names)
    end,
}

local function custom(template, list)
    return template and format(template, list) or nil
end

checkers.conditional_at_least_one_of = {
    run_with_missing_fields = true,
    run_with_invalid_fields = true,
    field_sources = { "if_field", "then_at_least_one_of", "else_then_at_least_one_of" },
    required_fields = { if_field = true },
    fn = function(entity, arg, schema, _, ctx)
        local value = get_field(entity, arg.if_field)
        if value == nil then
            return true
        end
        local validate = field_mod.validate_field
        if not validate(schema, matcher(arg.if_match, schema, arg.if_field), value, ctx) then
            if arg.else_match == nil then
                return true
            end
            if not validate(schema, matcher(arg.else_match, schema, arg.if_field), value,
                            ctx) then
                return true
            end
            local names = arg.else_then_at_least_one_of or {}
            if any_nonempty(entity, names) then
                return true
            end
            local list = quoted_list(names)
            return nil, list, custom(arg.else_then_err, list)
        end
        local names = arg.then_at_least_one_of or {}
        if any_nonempty(entity, names) then
            return true
        end
        local list = quoted_list(names)
        return nil, list, custom(arg.then_err, list)
    end,
}

checkers.only_one_of = {
    run_with_missing_fields = false,
    run_with_invalid_fields = true,
    fn = function(entity, names)
        if #nonempty_names(entity, names) == 1 then
            return true
        end
        return nil, quoted_list(names)
    end,
}

checkers.distinct = {
    run_with_missing_fields = false,
    run_with_invalid_fields = true,
    fn = function(entity, names)
        local seen = {}
        for i = 1, #names do
            local value = get_field(entity, names[i])
            if is_nonempty(value) then
                if seen[value] then
                    return nil, quoted_list(names)
                end
                seen[value] = true
            end
        end
        return true
    end,
}

-- If `if_field` passes `if_match`, `then_field` must pass `then_match`;
-- the then-field's own error goes beside it in the error table.
checkers.conditional = {
    run_with_missing_fields = false,
    run_with_invalid_fields = true,
    field_sources = { "if_field", "then_field" },
    required_fields = { if_field = true },
    fn = function(entity, arg, schema, errors, ctx)
        local validate = field_mod.validate_field
        local if_value = get_field(entity, arg.if_field)
        local then_value = get_field(entity, arg.then_field)
        if then_value == nil then
            then_value = null
        end
        if not validate(schema, matcher(arg.if_match, schema, arg.if_field), if_value, ctx) then
            return true
        end
        if arg.then_match.required == true and then_value == null then
            set_field(errors, arg.then_field, msg.REQUIRED)
            return nil, arg.if_field
        end
        local ok, err = validate(schema, matcher(arg.then_match, schema, arg.then_field),
                                 then_value, ctx)
        if not ok then
            set_field(errors, arg.then_field, err)
            return nil, arg.if_field, custom(arg.then_err, arg.if_field)
        end
        return true
    end,
}

checkers.custom_entity_check = {
    run_with_missing_fields = false,
    run_with_invalid_fields = false,
    field_sources = { "field_sources" },
    required_fields = { field_sources = true },
    fn = function(entity, arg)
        return arg.fn(entity)
    end,
}

checkers.mutually_required = {
    run_with_missing_fields = true,
    fn = mutually_required,
}

checkers.mutually_exclusive = {
    run_with_missing_fields = true,
    fn = function(entity, names)
        if #nonempty_names(entity, names) <= 1 then
            return true
        end
        return nil, quoted_list(names)
    end,
}

checkers.mutually_exclusive_sets = {
    run_with_missing_fields = true,
    field_sources = { "set1", "set2" },
    required_fields = { set1 = true, set2 = true },
    fn = function(entity, arg)
        local one = nonempty_names(entity, arg.set1)
        local two = nonempty_names(entity, arg.set2)
        if #one > 0 and #two > 0 then
            return nil, format("(%s), (%s)", quoted_list(one), quoted_list(two))
        end
        return true
    end,
}

return _M
