-- kong.db.schema: process_auto_fields by context (defaults, nulls, auto
-- values, sets), shorthand fields and transformations.
local h = require("schema_helpers")
local deprecation = require("kongpy.schema.deprecation")
local util = require("kongpy.schema.util")
local eq = require("runner").eq

local null = ngx.null
local same, schema = h.same, h.schema

local cases, case = h.suite()

local S = { type = "string" }

local function entity()
    return schema({
        { id = { type = "string", uuid = true, auto = true } },
        { key = { type = "string", auto = true } },
        { name = { type = "string", required = true } },
        { port = { type = "integer", default = 80 } },
        { note = S },
        { on = { type = "boolean", required = true, default = true } },
        { list = { type = "array", elements = S, default = {} } },
        { tags = { type = "set", elements = S } },
        { conf = { type = "record", required = true, fields = {
            { a = { type = "string", default = "x" } },
            { b = { type = "integer" } },
        } } },
        { opt = { type = "record", fields = { { c = { type = "string", default = "y" } } } } },
        { created_at = { type = "integer", timestamp = true, auto = true } },
        { updated_at = { type = "integer", timestamp = true, auto = true } },
    }, { name = "auto_things", primary_key = { "id" } })
end

case("insert fills defaults, nulls, auto values and required records", function()
    local s = entity()
    local input = { name = "n" }
    local d = s:process_auto_fields(input, "insert")
    eq(input.port, nil)
    eq(#d.id, 36)
    eq(s:validate_field(s.fields.id, d.id), true)
    eq(#d.key, 32)
    eq(d.port, 80)
    eq(d.note, null)
    eq(d.on, true)
    same(d.list, {})
    eq(getmetatable(d.list), util.array_mt)
    eq(d.tags, null)
    same(d.conf, { a = "x", b = null })
    eq(d.opt, null)
    eq(type(d.created_at), "number")
    eq(d.created_at, d.updated_at)
    eq(s:validate(d), true)
end)

case("insert keeps given values, nulls included", function()
    local s = entity()
    local d = s:process_auto_fields({ id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", name = "n",
                                      port = 81, note = null, opt = { c = "z" } }, "insert")
    eq(d.id, "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01")
    eq(d.port, 81)
    eq(d.note, null)
    same(d.opt, { c = "z" })
end)

case("null does not take a default", function()
    local s = entity()
    local d = s:process_auto_fields({ name = "n", port = null }, "insert")
    eq(d.port, null)
    same(select(2, s:validate(d)), nil)
    local required = schema({ { r = { type = "string", required = true, default = "d" } } })
    d = required:process_auto_fields({ r = null }, "insert")
    eq(d.r, null)
    same(select(2, required:validate(d)), { r = "required field missing" })
end)

case("update touches only what is given", function()
    local s = entity()
    local d, _, immutable = s:process_auto_fields({ port = 90, conf = { b = 1 } }, "update")
    eq(d.name, nil)
    eq(d.note, nil)
    eq(d.id, nil)
    eq(d.key, nil)
    eq(d.created_at, nil)
    eq(type(d.updated_at), "number")
    same(d.conf, { b = 1 })
    eq(immutable, false)
end)

case("update reports immutable fields", function()
    local s = schema({ { a = { type = "string", immutable = true } } })
    local _, _, immutable = s:process_auto_fields({ a = "x" }, "update")
    eq(immutable, true)
end)

case("upsert fills like insert", function()
    local s = entity()
    local d = s:process_auto_fields({ name = "n" }, "upsert")
    eq(d.port, 80)
    eq(#d.id, 36)
end)

case("select drops nulls, unknown keys and empty strings", function()
    local s = entity()
    local row = { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", name = "n", port = 80.0,
                  note = null, on = null, conf = { a = "x", b = null }, extra = 1, tags = {},
                  opt = null }
    local d = s:process_auto_fields(row, "select")
    eq(d, row)
    eq(d.note, nil)
    eq(d.extra, nil)
    eq(d.on, true)
    same(d.conf, { a = "x" })
    eq(d.opt, nil)
    local with_nulls = s:process_auto_fields({ name = "", note = null }, "select", true)
    eq(with_nulls.note, null)
    eq(with_nulls.name, null)
end)

case("select floors integers and keeps ttl on ttl schemas", function()
    local s = schema({ { n = { type = "integer" } } }, { ttl = true })
    local d = s:process_auto_fields({ n = 3.0, ttl = 5 }, "select")
    eq(d.n, 3)
    eq(d.ttl, 5)
    d = s:process_auto_fields({ ttl = null }, "select")
    eq(d.ttl, nil)
end)

case("sets lose duplicates and answer membership", function()
    local s = schema({ { tags = { type = "set", elements = S } } })
    local d = s:process_auto_fields({ tags = { "a", "b", "a" } }, "insert")
    same({ d.tags[1], d.tags[2], d.tags[3] }, { "a", "b" })
    eq(#d.tags, 2)
    eq(d.tags.a, true)
    eq(d.tags.c, nil)
end)

case("array defaults are copies", function()
    local s = schema({ { l = { type = "array", elements = S, default = { "a" } } } })
    local d1 = s:process_auto_fields({}, "insert")
    d1.l[1] = "changed"
    local d2 = s:process_auto_fields({}, "insert")
    eq(d2.l[1], "a")
end)

case("no_defaults option", function()
    local s = entity()
    local d = s:process_auto_fields({ name = "n" }, "insert", false, { no_defaults = true })
    eq(d.port, null)
end)

case("elements of arrays of records get their defaults", function()
    local s = schema({ { l = { type = "array", elements = { type = "record", fields = {
        { a = { type = "string", default = "x" } } } } } } })
    local d = s:process_auto_fields({ l = { {}, { a = "y" } } }, "insert")
    same(d.l, { { a = "x" }, { a = "y" } })
end)

local function rl_like()
    return schema({ { config = { type = "record", fields = {
        { redis = { type = "record", fields = {
            { host = S }, { port = { type = "integer" } },
            { timeout = { type = "integer", default = 2000 } } } } },
        { hide = { type = "boolean", default = false } },
    }, shorthand_fields = {
        { redis_host = {
            type = "string",
            translate_backwards = { "redis", "host" },
            deprecation = { message = "test: config.redis_host is deprecated",
                            removal_in_version = "4.0",
                            replaced_with = { { path = { "redis", "host" } } } },
            func = function(v) return { redis = { host = v } } end,
        } },
        { show = {
            type = "boolean",
            func = function(v) return { hide = not v } end,
        } },
    } } } })
end

case("shorthand fields expand into real fields", function()
    deprecation.reset()
    local s = rl_like()
    local d = s:process_auto_fields({ config = { redis_host = "h", show = true } }, "insert")
    eq(d.config.redis_host, nil)
    eq(d.config.show, nil)
    eq(d.config.redis.host, "h")
    eq(d.config.redis.timeout, 2000)
    eq(d.config.hide, false)
    eq(s:validate(d), true)
    eq(deprecation.was_logged("test: config.redis_host is deprecated (deprecated after 4.0)"),
       true)
end)

case("a deprecated shorthand does not override the new field", function()
    local s = rl_like()
    local d = s:process_auto_fields({ config = { redis_host = "old",
                                                 redis = { port = 1 } } }, "insert")
    eq(d.config.redis.host, "old")
    eq(d.config.redis.port, 1)
    local _, errs = s:process_auto_fields({ config = { redis_host = "old",
                                                       redis = { host = "new" } } }, "insert")
    same(errs, { redis_host = "both deprecated and new field are used but their values "
                              .. "mismatch: redis_host = old vs redis.host = new" })
end)

case("invalid shorthand values", function()
    local s = rl_like()
    local d, errs = s:process_auto_fields({ config = { redis_host = 5 } }, "insert")
    eq(d, nil)
    same(errs, { redis_host = "expected a string" })
end)

case("translate_backwards shows the shorthand on reads", function()
    local s = rl_like()
    local d = s:process_auto_fields({ config = { redis = { host = "h" }, hide = false } },
                                    "select")
    eq(d.config.redis_host, "h")
    d = s:process_auto_fields({ config = { redis = { host = "h" } } }, "select", false,
                              { hide_shorthands = true })
    eq(d.config.redis_host, nil)
end)

case("transformations run on write and on read", function()
    local s = schema({ { secret = S }, { hash = S }, { salt = S } }, { transformations = {
        { input = { "secret" }, needs = { "salt" },
          on_write = function(secret, salt) return { hash = salt .. ":" .. secret,
                                                     secret = null } end },
        { on_read = function(e) return { secret = "hidden" } end },
    } })
    eq(s:has_transformations({}), true)
    local out = s:transform({ secret = "s", salt = "x" }, nil, "insert")
    eq(out.hash, "x:s")
    eq(out.secret, null)
    eq(s:transform({ secret = "s" }, nil, "insert").hash, nil)
    eq(s:transform({ hash = "h" }, nil, "select").secret, "hidden")
end)

case("transformation errors", function()
    local s = schema({ { a = S } }, { transformations = {
        { on_write = function() return nil, "boom" end } } })
    same({ s:transform({ a = "x" }, nil, "insert") }, { nil, "transformation failed: boom" })
end)

case("merge_values merges records and replaces arrays", function()
    local s = schema({ { r = { type = "record", fields = { { a = S }, { b = S } } } },
                       { l = { type = "array", elements = S } } })
    same(s:merge_values({ r = { a = "1" }, l = { "x" } }, { r = { b = "2" }, l = { "y", "z" } }),
         { r = { a = "1", b = "2" }, l = { "x" } })
end)

return cases
