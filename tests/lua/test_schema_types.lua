-- kong.db.schema: field types, null handling and the error table's shape.
local Schema = require("kong.db.schema")
local h = require("schema_helpers")
local eq = require("runner").eq

local null = ngx.null
local same, check, schema = h.same, h.check, h.schema

local cases, case = h.suite()

-- { field, value, expected error (true = valid) }
local TYPES = {
    { { type = "string" }, "x", true },
    { { type = "string" }, 1, "expected a string" },
    { { type = "string" }, "", "length must be at least 1" },
    { { type = "string", len_min = 0 }, "", true },
    { { type = "number" }, 1.5, true },
    { { type = "number" }, "1", "expected a number" },
    { { type = "integer" }, 3, true },
    { { type = "integer" }, 3.5, "expected an integer" },
    { { type = "integer" }, math.huge, "expected an integer" },
    { { type = "integer" }, "3", "expected an integer" },
    { { type = "boolean" }, false, true },
    { { type = "boolean" }, "true", "expected a boolean" },
    { { type = "array", elements = { type = "string" } }, { "a", "b" }, true },
    { { type = "array", elements = { type = "string" } }, { a = 1 }, "expected an array" },
    { { type = "array", elements = { type = "string" } }, "a", "expected an array" },
    { { type = "set", elements = { type = "string" } }, { "a", "a" }, true },
    { { type = "set", elements = { type = "string" } }, { x = "a" }, "expected a set" },
    { { type = "map", keys = { type = "string" }, values = { type = "integer" } },
      { a = 1 }, true },
    { { type = "map", keys = { type = "string" }, values = { type = "integer" } },
      "x", "expected a map" },
    { { type = "map", keys = { type = "string" }, values = { type = "integer" } },
      { a = "x" }, "expected an integer" },
    { { type = "map", keys = { type = "string" }, values = { type = "integer" } },
      { [1] = 1 }, "expected a string" },
    { { type = "record", fields = { { a = { type = "string" } } } }, { a = "x" }, true },
    { { type = "record", fields = { { a = { type = "string" } } } }, "x",
      "expected a record" },
    { { type = "function" }, print, true },
    { { type = "function" }, "print", "expected a function" },
    { { type = "json" }, { any = { "thing", 1 } }, true },
    { { type = "json" }, "text", true },
    { { type = "bogus" }, "x", "invalid type: bogus" },
}
for i, c in ipairs(TYPES) do
    case("type #" .. i .. " " .. tostring(c[1].type), function()
        same(check(c[1], c[2]), c[3], "error")
    end)
end

case("array element errors are keyed by index", function()
    local err = check({ type = "array", elements = { type = "integer" } }, { 1, "x", 3, "y" })
    same(err, { [2] = "expected an integer", [4] = "expected an integer" })
end)

case("null elements of arrays are required field missing", function()
    local err = check({ type = "array", elements = { type = "integer" } }, { 1, null })
    same(err, { [2] = "required field missing" })
end)

case("record errors nest", function()
    local f = { type = "record", fields = {
        { a = { type = "string", required = true } },
        { b = { type = "record", fields = { { c = { type = "integer" } } } } },
    } }
    same(check(f, { b = { c = "x" } }), { a = "required field missing",
                                          b = { c = "expected an integer" } })
    same(check(f, { a = "x", z = 1 }), { z = "unknown field" })
end)

case("record defaults apply before validating the record", function()
    local f = { type = "record", fields = { { a = { type = "string", required = true,
                                                     default = "d" } } } }
    eq(check(f, {}), true)
end)

case("unknown fields", function()
    local s = schema({ { a = { type = "string" } } })
    local ok, errs = s:validate({ b = 1 })
    eq(ok, nil)
    same(errs, { b = "unknown field" })
end)

case("updated_at and ttl are not validated", function()
    local s = schema({ { a = { type = "string" } } }, { ttl = true })
    eq(s:validate({ updated_at = "x", ttl = 5 }), true)
    local plain = schema({ { a = { type = "string" } } })
    same(select(2, plain:validate({ ttl = 5 })), { ttl = "unknown field" })
end)

case("required fields: missing, null, partial update", function()
    local s = schema({ { a = { type = "string", required = true } },
                       { b = { type = "string" } } })
    same(select(2, s:validate({})), { a = "required field missing" })
    same(select(2, s:validate({ a = null })), { a = "required field missing" })
    same(select(2, s:validate_update({ a = null })), { a = "required field missing" })
    eq(s:validate_update({ b = "x" }), true)
    eq(s:validate({ a = "x", b = null }), true)
end)

case("eq = null and ne = null", function()
    same(check({ type = "string", eq = null }, "x"), "value must be null")
    eq(check({ type = "string", eq = null }, null), true)
    same(check({ type = "string", ne = null }, null), "value must not be null")
    same(check({ type = "string", eq = "a" }, null), "value must be a")
    same(check({ type = "string", eq = null, err = "custom" }, "x"), "custom")
end)

case("abstract fields refuse values", function()
    same(check({ type = "string", abstract = true }, "x"),
         "error in schema definition: abstract field was not specialized")
end)

case("foreign keys validate the referenced primary key", function()
    local f = { type = "foreign", reference = "consumers" }
    eq(check(f, { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01" }), true)
    same(check(f, { id = "nope" }), { id = "expected a valid UUID" })
    same(check(f, {}), { id = "missing primary key" })
    same(check(f, { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", x = 1 }), true)
    eq(check(f, null), true)
end)

case("unknown foreign references are refused at definition time", function()
    local s, err = Schema.new({ fields = { { f = { type = "foreign", reference = "nopes" } } } })
    eq(s, nil)
    eq(err, "schema refers to an invalid foreign entity: nopes")
end)

case("definition errors", function()
    local s, err = Schema.new(nil)
    eq(s, nil)
    eq(err, "expected a definition table")
    s, err = Schema.new({ name = "x" })
    eq(s, nil)
    eq(err, "error in schema definition: no 'fields' table")
end)

case("non-table input", function()
    local s = schema({ { a = { type = "string" } } })
    same(select(2, s:validate("x")), { ["@entity"] = { "expected an input table" } })
end)

case("fields are reachable by name, records too", function()
    local s = schema({ { r = { type = "record", fields = { { x = { type = "string" } } } } } })
    eq(s.fields.r.type, "record")
    eq(s.fields.r.fields.x.type, "string")
    eq(#s.fields, 1)
end)

case("each_field keeps the declaration order", function()
    local s = schema({ { b = { type = "string" } }, { a = { type = "string" } },
                       { c = { type = "string" } } })
    local names = {}
    for name in s:each_field() do
        names[#names + 1] = name
    end
    same(names, { "b", "a", "c" })
end)

case("unknown top-level keys are kept", function()
    local s = schema({ { a = { type = "string" } } },
                     { name = "kept", admin_api_name = "kept-things", custom_thing = { 1 } })
    eq(s.admin_api_name, "kept-things")
    same(s.custom_thing, { 1 })
end)

case("definitions are copied", function()
    local def = { fields = { { a = { type = "string" } } } }
    local s = assert(Schema.new(def))
    def.fields[1].a.type = "integer"
    eq(s.fields.a.type, "string")
end)

case("errors_to_string", function()
    local s = schema({ { a = { type = "string" } } })
    eq(s:errors_to_string({ a = "bad" }), "Validation error: a: bad")
    eq(s:errors_to_string({ ["@entity"] = { "x" } }), "Validation error: x")
    eq(s:errors_to_string({}), nil)
end)

case("validate_primary_key", function()
    local s = schema({ { id = { type = "string", uuid = true } }, { n = { type = "string" } } },
                     { primary_key = { "id" } })
    same(select(2, s:validate_primary_key({})), { id = "missing primary key" })
    same(select(2, s:validate_primary_key({ id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01",
                                            n = "x" })), { n = "not a primary key" })
    eq(s:validate_primary_key({ id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", n = "x" }, true),
       true)
    same(s:extract_pk_values({ id = "i", n = "x" }), { id = "i" })
end)

case("validate_immutable_fields", function()
    local s = schema({ { a = { type = "string", immutable = true } },
                       { l = { type = "array", elements = { type = "string" },
                               immutable = true } } })
    eq(s:validate_immutable_fields({ a = "x" }, { a = "x" }), true)
    same(select(2, s:validate_immutable_fields({ a = "y" }, { a = "x" })),
         { a = "immutable field cannot be updated" })
    eq(s:validate_immutable_fields({ l = { "b", "a" } }, { l = { "a", "b" } }), true)
    eq(s:validate_immutable_fields({ a = "y" }, {}), true)
end)

case("several schemas validate independently", function()
    local a = schema({ { x = { type = "string", required = true } } },
                     { entity_checks = { { at_least_one_of = { "x" } } } })
    local b = schema({ { x = { type = "string" } } },
                     { entity_checks = { { at_least_one_of = { "x" } } } })
    local _, errs = b:validate_update({})
    eq(a:validate_update({}), true)
    eq(errs, nil)
    local _, e2 = b:validate({})
    same(e2, { ["@entity"] = { "at least one of these fields must be non-empty: 'x'" } })
end)

return cases
