-- kong.db.schema: entity checks, their messages and the "@entity" errors,
-- in schemas and inside records (where plugin configs declare them).
local h = require("schema_helpers")
local eq = require("runner").eq

local null = ngx.null
local same, schema = h.same, h.schema

local cases, case = h.suite()

local S = { type = "string" }
local I = { type = "integer" }

local function errors_of(s, input, update)
    local ok, errs
    if update then
        ok, errs = s:validate_update(input)
    else
        ok, errs = s:validate(input)
    end
    if ok then
        return true
    end
    return errs
end

local function checked(checks, fields)
    return schema(fields or { { a = S }, { b = S }, { c = S } }, { entity_checks = checks })
end

case("at_least_one_of", function()
    local s = checked({ { at_least_one_of = { "a", "b" } } })
    same(errors_of(s, { c = "x" }),
         { ["@entity"] = { "at least one of these fields must be non-empty: 'a', 'b'" } })
    eq(errors_of(s, { b = "x" }), true)
    same(errors_of(s, { a = null }),
         { ["@entity"] = { "at least one of these fields must be non-empty: 'a', 'b'" } })
    eq(errors_of(s, { c = "x" }, true), true)
    same(errors_of(s, { a = null }, true), { ["@entity"] = {
        "when updating, at least one of these fields must be non-empty: 'a', 'b'" } })
end)

case("only_one_of", function()
    local s = checked({ { only_one_of = { "a", "b" } } })
    same(errors_of(s, { a = "x", b = "y" }),
         { ["@entity"] = { "exactly one of these fields must be non-empty: 'a', 'b'" } })
    eq(errors_of(s, { a = "x", b = null }), true)
    same(errors_of(s, { a = "x" }), { b = "field required for entity check" })
    same(errors_of(s, { a = "x" }, true), { b = "field required for entity check when updating" })
    eq(errors_of(s, { c = "x" }, true), true)
end)

case("mutually_exclusive and mutually_required", function()
    local s = checked({ { mutually_exclusive = { "a", "b" } } })
    same(errors_of(s, { a = "x", b = "y" }),
         { ["@entity"] = { "only one or none of these fields must be set: 'a', 'b'" } })
    eq(errors_of(s, { a = "x" }), true)
    s = checked({ { mutually_required = { "a", "b" } } })
    same(errors_of(s, { a = "x" }),
         { ["@entity"] = { "all or none of these fields must be set: 'a', 'b'" } })
    eq(errors_of(s, {}), true)
    eq(errors_of(s, { a = "x", b = "y" }), true)
end)

case("mutually_exclusive_sets", function()
    local s = checked({ { mutually_exclusive_sets = { set1 = { "a" }, set2 = { "b", "c" } } } })
    same(errors_of(s, { a = "x", c = "y" }),
         { ["@entity"] = { "these sets are mutually exclusive: ('a'), ('c')" } })
    eq(errors_of(s, { b = "x", c = "y" }), true)
end)

case("distinct", function()
    local s = checked({ { distinct = { "a", "b" } } })
    same(errors_of(s, { a = "x", b = "x" }),
         { ["@entity"] = { "values of these fields must be distinct: 'a', 'b'" } })
    eq(errors_of(s, { a = "x", b = "y" }), true)
end)

case("conditional: required then_match", function()
    local s = checked({ { conditional = { if_field = "a", if_match = { eq = "redis" },
                                          then_field = "b", then_match = { required = true } } } })
    same(errors_of(s, { a = "redis" }), {
        b = "required field missing",
        ["@entity"] = { "failed conditional validation given value of field 'a'" },
    })
    eq(errors_of(s, { a = "local" }), true)
    eq(errors_of(s, { a = "redis", b = "x" }), true)
end)

case("conditional: validators in then_match, custom then_err", function()
    local s = checked({ { conditional = {
        if_field = "a", if_match = { one_of = { "x", "y" } },
        then_field = "b", then_match = { len_min = 3 },
        then_err = "when %s is x or y, b needs 3 characters",
    } } })
    same(errors_of(s, { a = "x", b = "ab" }), {
        b = "length must be at least 3",
        ["@entity"] = { "when a is x or y, b needs 3 characters" },
    })
end)

case("conditional: if_match inherits the tested field's attributes", function()
    local s = checked({ { conditional = { if_field = "a", if_match = { match = "^r" },
                                          then_field = "b", then_match = { eq = "z" } } } },
                      { { a = { type = "string", one_of = { "redis", "rest" } } }, { b = S } })
    same(errors_of(s, { a = "rest", b = "q" }), {
        b = "value must be z",
        ["@entity"] = { "failed conditional validation given value of field 'a'" },
    })
end)

case("conditional_at_least_one_of with then and else", function()
    local s = checked({ { conditional_at_least_one_of = {
        if_field = "a", if_match = { eq = "x" },
        then_at_least_one_of = { "b" },
        else_match = { eq = "y" },
        else_then_at_least_one_of = { "c" },
        else_then_err = "with y, set %s",
    } } })
    same(errors_of(s, { a = "x" }),
         { ["@entity"] = { "at least one of these fields must be non-empty: 'b'" } })
    same(errors_of(s, { a = "y" }), { ["@entity"] = { "with y, set 'c'" } })
    eq(errors_of(s, { a = "z" }), true)
    eq(errors_of(s, { a = "x", b = "1" }), true)
end)

case("custom_entity_check gets only its fields", function()
    local seen
    local s = checked({ { custom_entity_check = {
        field_sources = { "a", "b" },
        fn = function(entity)
            seen = entity
            if entity.a == entity.b then
                return nil, "a and b must differ"
            end
            return true
        end,
    } } })
    same(errors_of(s, { a = "x", b = "x", c = "z" }),
         { ["@entity"] = { "a and b must differ" } })
    same(seen, { a = "x", b = "x" })
    same(errors_of(s, { a = "x" }), { b = "field required for entity check" })
end)

case("custom_entity_check does not run on invalid fields", function()
    local ran = false
    local s = checked({ { custom_entity_check = {
        field_sources = { "a" },
        fn = function() ran = true return nil, "no" end,
    } } }, { { a = I } })
    same(errors_of(s, { a = "x" }), { a = "expected an integer" })
    eq(ran, false)
end)

case("run_with_missing_fields on the check argument", function()
    local s = checked({ { custom_entity_check = {
        field_sources = { "a", "b" },
        run_with_missing_fields = true,
        fn = function(e) return e.b ~= nil, "b please" end,
    } } })
    same(errors_of(s, { a = "x" }), { ["@entity"] = { "b please" } })
end)

case("checks on dotted paths reach into records", function()
    local s = checked({ { at_least_one_of = { "config.x", "config.y" } } }, {
        { config = { type = "record", fields = { { x = S }, { y = S } } } } })
    same(errors_of(s, { config = { z = 1 } }), { config = { z = "unknown field" },
        ["@entity"] = { "at least one of these fields must be non-empty: 'config.x', "
                        .. "'config.y'" } })
    eq(errors_of(s, { config = { y = "1" } }), true)
end)

case("entity checks inside a record report under the record", function()
    local s = schema({ { config = { type = "record", fields = { { x = S }, { y = S } },
        entity_checks = { { only_one_of = { "x", "y" } } } } } })
    same(errors_of(s, { config = { x = "1", y = "2" } }), { config = {
        ["@entity"] = { "exactly one of these fields must be non-empty: 'x', 'y'" } } })
end)

case("missing fields of a conditional nested in records", function()
    local s = checked({ { conditional = { if_field = "config.p", if_match = { eq = "r" },
                                          then_field = "config.r.port",
                                          then_match = { required = true } } } },
                      { { config = { type = "record", fields = {
                          { p = S },
                          { r = { type = "record", fields = { { port = I } } } } } } } })
    same(errors_of(s, { config = { p = "r" } }), {
        config = { r = { port = "required field missing" } },
        ["@entity"] = { "failed conditional validation given value of field 'config.p'" },
    })
end)

case("several failing checks keep their order", function()
    local s = checked({ { at_least_one_of = { "a" } }, { at_least_one_of = { "b" } } })
    same(errors_of(s, { c = "x" }), { ["@entity"] = {
        "at least one of these fields must be non-empty: 'a'",
        "at least one of these fields must be non-empty: 'b'" } })
end)

case("legacy check function runs on full entities", function()
    local s = schema({ { a = S } }, { check = function(e)
        return e.a ~= "bad", "no bad"
    end })
    same(errors_of(s, { a = "bad" }), { ["@entity"] = { "no bad" } })
    eq(errors_of(s, { a = "bad" }, true), true)
end)

case("transformations: input and needs come together", function()
    local s = schema({ { a = S }, { b = S }, { h = S } }, { transformations = {
        { input = { "a" }, needs = { "b" }, on_write = function(a, b)
            return { h = a .. b }
        end },
    } })
    same(errors_of(s, { a = "x" }),
         { ["@entity"] = { "all or none of these fields must be set: 'a', 'b'" } })
    eq(errors_of(s, { a = "x", b = "y" }), true)
end)

return cases
