-- kong.db.schema: subschemas, kong.db.schema.entity and the plugins entity
-- (a plugin's schema.lua as a subschema selected by `name`).
local Schema = require("kong.db.schema")
local Entity = require("kong.db.schema.entity")
local typedefs = require("kong.db.schema.typedefs")
local registry = require("kongpy.schema.registry")
local h = require("schema_helpers")
local eq = require("runner").eq

local null = ngx.null
local same = h.same

local cases, case = h.suite()

local function plugins()
    return assert(Entity.new(require("kong.db.schema.entities.plugins")))
end

local TOY = {
    name = "toy",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = { type = "record", fields = {
            { size = { type = "integer", default = 3, between = { 1, 5 } } },
            { inner = { type = "record", fields = { { x = { type = "string",
                                                             default = "d" } } } } },
        } } },
    },
    entity_checks = { { at_least_one_of = { "config.size" } } },
}

case("a plugin subschema validates by name", function()
    local p = plugins()
    assert(Entity.new_subschema(p, "toy", TOY))
    local d = p:process_auto_fields({ name = "toy" }, "insert")
    same(d.config, { size = 3, inner = { x = "d" } })
    same(d.protocols, { "grpc", "grpcs", "http", "https" })
    eq(d.enabled, true)
    eq(d.route, null)
    eq(p:validate(d), true)
end)

case("plugin config errors nest under config", function()
    local p = plugins()
    assert(Entity.new_subschema(p, "toy", TOY))
    local d = p:process_auto_fields({ name = "toy", config = { size = 9, nope = 1 },
                                      protocols = { "tcp" } }, "insert")
    local _, errs = p:validate(d)
    same(errs, {
        config = { size = "value should be between 1 and 5", nope = "unknown field" },
        protocols = { "expected one of: grpc, grpcs, http, https" },
    })
end)

case("no_consumer refuses a consumer", function()
    local p = plugins()
    assert(Entity.new_subschema(p, "toy", TOY))
    local d = p:process_auto_fields({ name = "toy",
        consumer = { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01" } }, "insert")
    same(select(2, p:validate(d)), { consumer = "value must be null" })
end)

case("unknown and missing plugin names", function()
    local p = plugins()
    same(select(2, p:validate({ name = "nope" })), { name = "plugin 'nope' not enabled; add it "
                                                     .. "to the 'plugins' configuration property" })
    same(select(2, p:validate({})), { name = "required field missing" })
end)

case("entity records are required by default", function()
    local p = plugins()
    assert(Entity.new_subschema(p, "toy", TOY))
    local sub = p.subschemas.toy
    eq(sub.fields.config.required, true)
    eq(sub.fields.config.fields.inner.required, true)
    local d = p:process_auto_fields({ name = "toy", config = null }, "insert")
    same(select(2, p:validate(d)), { config = "required field missing", ["@entity"] = {
        "at least one of these fields must be non-empty: 'config.size'" } })
end)

case("subschema entity checks see subschema fields", function()
    local p = plugins()
    assert(Entity.new_subschema(p, "toy", TOY))
    local d = p:process_auto_fields({ name = "toy", config = { size = null } }, "insert")
    same(select(2, p:validate(d)), { ["@entity"] = {
        "at least one of these fields must be non-empty: 'config.size'" } })
end)

case("subschema definition errors", function()
    local p = plugins()
    local ok, err = Entity.new_subschema(p, "bad", { name = "bad", fields = {
        { nope = { type = "string" } } } })
    eq(ok, nil)
    eq(err, "error in definition of 'bad': nope: cannot create a new field")
    ok, err = Entity.new_subschema(p, "bad", { name = "bad", fields = {
        { enabled = { type = "string" } } } })
    eq(ok, nil)
    eq(err, "error in definition of 'bad': enabled: cannot change type in a specialized field")
    local plain = h.schema({ { a = { type = "string" } } }, { name = "plain" })
    ok, err = Schema.new_subschema(plain, "x", { fields = {} })
    eq(ok, nil)
    eq(err, "error in definition of 'x': entities of type 'plain' cannot have subschemas")
end)

case("required abstract fields must be specialized", function()
    local parent = h.schema({ { kind = { type = "string" } },
                              { conf = { type = "record", abstract = true, required = true } } },
                            { subschema_key = "kind" })
    local ok, err = Schema.new_subschema(parent, "k", { fields = {} })
    eq(ok, nil)
    eq(err, "error in definition of 'k': conf: abstract field was not specialized")
end)

case("set-valued subschema keys pick the first known element", function()
    local parent = h.schema({ { kinds = { type = "set", elements = { type = "string" } } },
                              { v = { type = "string" } } }, { subschema_key = "kinds" })
    assert(Schema.new_subschema(parent, "b", { fields = { { v = { type = "string",
                                                                   one_of = { "x" } } } } }))
    same(select(2, parent:validate({ kinds = { "a", "b" }, v = "y" })),
         { v = "expected one of: x" })
    same(select(2, parent:validate({ kinds = { "a" } })), { kinds = "unknown type: a" })
end)

case("Entity.new refuses what entities cannot have", function()
    local ok, err = Entity.new({ name = "e", fields = { { f = { type = "function" } } } })
    eq(ok, nil)
    eq(err, "f: Entities cannot have function types.")
    ok, err = Entity.new({ name = "e", fields = { { m = { type = "map",
        keys = { type = "integer" }, values = { type = "string" } } } } })
    eq(ok, nil)
    eq(err, "m: Entities map keys must be strings.")
    ok, err = Entity.new({ name = "e", fields = { { n = { type = "string", nilable = true } } } })
    eq(ok, nil)
    eq(err, "n: Entities cannot have nilable types.")
end)

case("plugin-owned entities reference each other", function()
    local parents = assert(Entity.new({ name = "toy_parents", primary_key = { "id" },
        fields = { { id = typedefs.uuid }, { name = typedefs.name } } }))
    local children = assert(Entity.new({ name = "toy_children", primary_key = { "id" },
        fields = { { id = typedefs.uuid },
                   { parent = { type = "foreign", reference = "toy_parents", required = true,
                                on_delete = "cascade" } } } }))
    eq(registry.get("toy_parents"), parents)
    local constraints = parents:get_constraints()
    eq(#constraints, 1)
    eq(constraints[1].field_name, "parent")
    eq(constraints[1].on_delete, "cascade")
    same(select(2, children:validate({ id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01",
                                       parent = { id = "x" } })),
         { parent = { id = "expected a valid UUID" } })
end)

case("typedefs are callable copies and unknown ones are errors", function()
    local port = typedefs.port { default = 8080, required = true }
    eq(port.default, 8080)
    eq(port.type, "integer")
    same(port.between, { 0, 65535 })
    eq(typedefs.port.default, nil)
    eq(typedefs.host { default = "x" }.default, "x")
    local ok, err = pcall(function() return typedefs.nope end)
    eq(ok, false)
    eq(err:find("schema typedef error: definition nope does not exist", 1, true) ~= nil, true)
    local no_sources = typedefs.no_sources { required = false }
    eq(no_sources.eq, null)
end)

return cases
