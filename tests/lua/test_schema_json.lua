-- kong.db.schema: the JSON form served by GET /schemas/..., the storage
-- description and the JSON encoder that keeps empty arrays arrays.
local typedefs = require("kong.db.schema.typedefs")
local Entity = require("kong.db.schema.entity")
local encode = require("kongpy.schema.encode").encode
local h = require("schema_helpers")
local eq = require("runner").eq

local null = ngx.null
local same = h.same

local cases, case = h.suite()

local function things()
    return assert(Entity.new({
        name = "json_things",
        primary_key = { "id" },
        endpoint_key = "name",
        cache_key = { "name" },
        ttl = true,
        admin_api_name = "json-things",
        admin_api_nested_name = "json-thing",
        generate_admin_api = false,
        fields = {
            { id = typedefs.uuid },
            { name = typedefs.name { required = true } },
            { consumer = { type = "foreign", reference = "consumers", on_delete = "cascade",
                           required = true } },
            { service = { type = "foreign", reference = "services" } },
            { methods = { type = "array", elements = { type = "string" }, default = {} } },
            { opts = { type = "map", keys = { type = "string" }, values = { type = "string" },
                       default = {} } },
            { ratio = { type = "number", default = math.huge } },
            { secret = { type = "string", encrypted = true, referenceable = true,
                         custom_validator = function() return true end } },
            { conf = { type = "record", fields = { { a = { type = "string" } } },
                       entity_checks = { { custom_entity_check = {
                           field_sources = { "a" }, fn = function() return true end } } } } },
        },
        entity_checks = { { at_least_one_of = { "name", "service" } } },
    }))
end

case("to_json keeps field order and drops functions", function()
    local j = things():to_json()
    local names = {}
    for i, item in ipairs(j.fields) do
        names[i] = next(item)
    end
    same(names, { "id", "name", "consumer", "service", "methods", "opts", "ratio", "secret",
                  "conf" })
    eq(j.fields[8].secret.custom_validator, nil)
    eq(j.fields[8].secret.encrypted, true)
    eq(j.fields[9].conf.required, true)
    same(j.fields[9].conf.entity_checks, { { custom_entity_check = {
        field_sources = { "a" } } } })
    same(j.entity_checks, { { at_least_one_of = { "name", "service" } } })
    eq(j.fields[7].ratio.default, "inf")
end)

case("to_json encodes like Kong's Admin API", function()
    local text = encode(things():to_json())
    eq(text:find('"methods":{"default":[],"elements":{"type":"string"},"type":"array"}', 1,
                 true) ~= nil, true)
    eq(text:find('"opts":{"default":[]', 1, true) ~= nil, true)
    eq(text:find('"fields":[{"id":', 1, true) ~= nil, true)
    eq(text:find('"consumer":{"on_delete":"cascade","reference":"consumers","required":true,'
                 .. '"type":"foreign"}', 1, true) ~= nil, true)
    local plain = h.schema({ { a = { type = "string", eq = null } } })
    eq(encode(plain:to_json()), '{"entity_checks":[],"fields":[{"a":{"eq":null,'
                                .. '"type":"string"}}]}')
end)

case("describe lists what storage needs", function()
    local d = things():describe()
    eq(d.name, "json_things")
    same(d.primary_key, { "id" })
    eq(d.endpoint_key, "name")
    same(d.cache_key, { "name" })
    eq(d.ttl, true)
    eq(d.generate_admin_api, false)
    eq(d.admin_api_name, "json-things")
    eq(d.admin_api_nested_name, "json-thing")
    eq(d.db_export, true)
    same(d.unique, { "name" })
    same(d.foreign, {
        { field = "consumer", reference = "consumers", on_delete = "cascade", required = true },
        { field = "service", reference = "services", on_delete = "restrict", required = false },
    })
    eq(d.fields[1].name, "id")
    eq(d.fields[1].auto, true)
    eq(d.fields[8].encrypted, true)
    eq(d.fields[8].referenceable, true)
    eq(encode(h.schema({ { a = { type = "string" } } }):describe()):find('"foreign":[]', 1,
                                                                         true) ~= nil, true)
end)

case("encode", function()
    eq(encode({ b = 1, a = { 1, 2 }, c = null, d = "x/\"y\"\n" }),
       '{"a":[1,2],"b":1,"c":null,"d":"x\\/\\"y\\"\\n"}')
    eq(encode({ [2] = "x" }), '[null,"x"]')
    eq(encode({ [20] = "x" }), '{"20":"x"}')
    eq(encode({}), "{}")
    eq(encode(setmetatable({}, require("kongpy.schema.util").array_mt)), "[]")
    eq(encode(1.5), "1.5")
    eq(encode(1e20), "1e+20")
    -- integers a double holds exactly stay whole
    eq(encode(1e15), "1000000000000000")
    eq(encode(-(2 ^ 53)), "-9007199254740992")
    eq(encode(2 ^ 53 - 1), "9007199254740991")
    same({ encode(print) }, { nil, "cannot encode a value of type function" })
end)

case("processed entities encode their empty arrays as arrays", function()
    local s = h.schema({ { l = { type = "array", elements = { type = "string" },
                                 default = {} } },
                         { set = { type = "set", elements = { type = "string" } } } })
    local d = s:process_auto_fields({ set = {} }, "insert")
    eq(encode(d), '{"l":[],"set":[]}')
end)

return cases
