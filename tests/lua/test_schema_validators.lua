-- kong.db.schema: every field validator, Kong's messages and Kong's order.
local Schema = require("kong.db.schema")
local h = require("schema_helpers")
local eq = require("runner").eq

local same, check = h.same, h.check

local cases, case = h.suite()

local S = { type = "string" }
local function str(extra)
    local f = { type = "string" }
    for k, v in pairs(extra) do
        f[k] = v
    end
    return f
end

-- { field, value, expected error (true = valid) }
local VALIDATORS = {
    { str { eq = "a" }, "a", true },
    { str { eq = "a" }, "b", "value must be a" },
    { str { ne = "a" }, "a", "value must not be a" },
    { str { ne = "a" }, "b", true },
    { { type = "integer", gt = 5 }, 5, "value must be greater than 5" },
    { { type = "number", gt = 0.5 }, 1, true },
    { { type = "integer", between = { 1, 10 } }, 11, "value should be between 1 and 10" },
    { { type = "integer", between = { 1, 10 } }, 10, true },
    { str { one_of = { "a", "b" } }, "c", "expected one of: a, b" },
    { { type = "integer", one_of = { 1, 2 } }, 3, "expected one of: 1, 2" },
    { str { one_of = { "a", "b" } }, "b", true },
    { str { not_one_of = { "a", "b" } }, "a", "must not be one of: a, b" },
    { str { not_one_of = { "a", "b" } }, "c", true },
    { str { len_eq = 2 }, "abc", "length must be 2" },
    { str { len_min = 2 }, "a", "length must be at least 2" },
    { str { len_max = 2 }, "abc", "length must be at most 2" },
    { { type = "array", elements = S, len_min = 1 }, {}, "length must be at least 1" },
    { { type = "map", keys = S, values = S, len_max = 1 }, { a = "1", b = "2" },
      "length must be at most 1" },
    { str { match = "^%d+$" }, "12", true },
    { str { match = "^%d+$" }, "1a", "invalid value: 1a" },
    { str { not_match = "%s" }, "a b", "invalid value: a b" },
    { str { match_all = { { pattern = "^a", err = "no a" }, { pattern = "b$", err = "no b" } } },
      "ac", "no b" },
    { str { match_none = { { pattern = "//", err = "must not have empty segments" } } },
      "/a//b", "must not have empty segments" },
    { str { match_any = { patterns = { "^a", "^b" }, err = "a or b" } }, "c", "a or b" },
    { str { match_any = { patterns = { "^a", "^b" }, err = "a or b" } }, "bc", true },
    { str { starts_with = "/" }, "x", "should start with: /" },
    { str { is_regex = true }, "[a-z", "not a valid regex: [a-z" },
    { str { is_regex = true }, "^/foo/(\\d+)$", true },
    { str { uuid = true }, "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", true },
    { str { uuid = true }, "6A1B6D2F-04A4-4A52-9A4E-2F7C1E4C7F01", true },
    { str { uuid = true }, "6a1b6d2f04a44a529a4e2f7c1e4c7f01", "expected a valid UUID" },
    { { type = "integer", timestamp = true }, 0, "expected a valid timestamp" },
    { { type = "array", elements = S, contains = "x" }, { "a" }, "expected to contain: x" },
    { { type = "array", elements = S, contains = "x" }, { "a", "x" }, true },
    { { type = "set", elements = S,
        mutually_exclusive_subsets = { { "http", "https" }, { "tcp", "tls" } } },
      { "http", "tcp" }, "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls')" },
    { { type = "set", elements = S,
        mutually_exclusive_subsets = { { "http", "https" }, { "tcp", "tls" } } },
      { "http", "https" }, true },
    { str { custom_validator = function(v) return v == "ok", "custom says no" end }, "ko",
      "custom says no" },
    { str { custom_validator = function() return nil end }, "ko", "failed validating: ko" },
    { str { custom_validator = function() return true end }, "ko", true },
    { str { one_of = { "a" }, err = "use a" }, "b", "use a" },
}
for i, c in ipairs(VALIDATORS) do
    case("validator #" .. i, function()
        same(check(c[1], c[2]), c[3], "error")
    end)
end

case("order: eq before one_of before len_min before match before custom", function()
    local calls = 0
    local f = str { eq = "zz", one_of = { "a" }, len_min = 5, match = "^x",
                    custom_validator = function() calls = calls + 1 return true end }
    same(check(f, "b"), "value must be zz")
    f.eq = nil
    same(check(f, "b"), "expected one of: a")
    f.one_of = nil
    same(check(f, "b"), "length must be at least 5")
    f.len_min = nil
    same(check(f, "b"), "invalid value: b")
    eq(calls, 0)
    f.match = nil
    eq(check(f, "b"), true)
    eq(calls, 1)
end)

case("element validators run per element", function()
    local f = { type = "array", elements = str { one_of = { "a" } } }
    same(check(f, { "a", "b" }), { [2] = "expected one of: a" })
end)

case("aggregate validators run after the elements", function()
    local f = { type = "array", elements = { type = "integer" }, len_min = 5 }
    same(check(f, { "x" }), { "expected an integer" })
    same(check(f, { 1 }), "length must be at least 5")
end)

case("record custom_validator sees the record", function()
    local seen
    local f = { type = "record", fields = { { a = { type = "integer", default = 1 } } },
                custom_validator = function(r) seen = r return nil, "record says no" end }
    same(check(f, { a = 2 }), "record says no")
    eq(seen.a, 2)
end)

case("Schema.validators is exposed for plugins (cors uses is_regex)", function()
    eq(Schema.validators.is_regex("^a$"), true)
    eq(Schema.validators.is_regex("(("), false)
    eq(Schema.validators_order[1], "eq")
    eq(type(Schema.entity_checkers.at_least_one_of.fn), "function")
end)

case("validate_field on a schema", function()
    local s = h.schema({ { a = S } })
    eq(s:validate_field({ type = "integer" }, 1), true)
    same({ s:validate_field({ type = "integer" }, "x") }, { nil, "expected an integer" })
end)

case("json fields with an inline JSON schema", function()
    local f = { type = "json", json_schema = { inline = {
        type = "object",
        required = { "name" },
        properties = {
            name = { type = "string", minLength = 2 },
            size = { type = "integer", minimum = 1, maximum = 3 },
            tags = { type = "array", items = { type = "string" } },
            kind = { enum = { "a", "b" } },
        },
        additionalProperties = false,
    } } }
    eq(check(f, { name = "ab", size = 2, tags = { "x" }, kind = "a" }), true)
    same(check(f, { size = 2 }), "property name is required")
    same(check(f, { name = "a" }),
         "property name validation failed: string too short, expected at least 2, got 1")
    same(check(f, { name = "ab", size = 9 }),
         "property size validation failed: expected 9 to be at most 3")
    same(check(f, { name = "ab", tags = { 1 } }),
         "property tags validation failed: failed to validate item 1: wrong type: "
         .. "expected string, got integer")
    same(check(f, { name = "ab", kind = "c" }),
         "property kind validation failed: matches none of the enum values")
    same(check(f, { name = "ab", other = 1 }), "additional properties forbidden, found other")
    same(check(f, "text"), "wrong type: expected object, got string")
end)

case("json fields selecting their schema by a sibling attribute", function()
    local jsonschema = require("kongpy.schema.jsonschema")
    jsonschema.add_schema("filters/double", { type = "integer" })
    local s = h.schema({
        { kind = S },
        { conf = { type = "json", json_schema = { parent_subschema_key = "kind",
                                                  namespace = "filters" } } },
    })
    eq(s:validate({ kind = "double", conf = 2 }), true)
    same(select(2, s:validate({ kind = "double", conf = "x" })),
         { conf = "wrong type: expected integer, got string" })
    same(select(2, s:validate({ kind = "nope", conf = 1 })),
         { conf = "mandatory json schema for field (filters/nope) not found" })
    same(select(2, s:validate({ conf = 1 })),
         { conf = "validation of conf depends on the parent attribute kind, but it is not set" })
    jsonschema.remove_schema("filters/double")
end)

case("json schema combinators and numbers", function()
    local js = require("kongpy.schema.jsonschema")
    eq(js.validate(3, { anyOf = { { type = "string" }, { type = "integer" } } }), true)
    same({ js.validate(3, { oneOf = { { type = "number" }, { type = "integer" } } }) },
         { nil, "value should match only one schema, but matches both schemas 1 and 2" })
    same({ js.validate(2, { ["not"] = { type = "integer" } }) },
         { nil, "value wasn't supposed to match schema" })
    same({ js.validate("ab", { pattern = "^a+$" }) },
         { nil, 'failed to match pattern "^a+$" with "ab"' })
    eq(js.validate({}, { type = "array" }), true)
    eq(js.validate({}, { type = "object" }), true)
    eq(js.validate(ngx.null, { type = "null" }), true)
end)

return cases
