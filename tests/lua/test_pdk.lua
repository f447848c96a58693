-- PDK logic that needs no request: Kong's tool modules, kong.vault's syntax,
-- header checks, phase errors, kong.db over a configuration built here,
-- kong.cache and kong.worker_events on the test's shared dict.
local eq = require("runner").eq
local tools_table = require("kong.tools.table")
local tools_string = require("kong.tools.string")
local tools_uuid = require("kong.tools.uuid")
local tools_rand = require("kong.tools.rand")
local tools_http = require("kong.tools.http")
local utils = require("kong.tools.utils")
local vault = require("kongpy.pdk.vault")
local checks = require("kongpy.pdk.checks")
local phase = require("kongpy.pdk.phase")
local settings = require("kongpy.settings")
local store = require("kongpy.pdk.store")
local dao = require("kongpy.pdk.dao")
local cache = require("kongpy.pdk.cache")
local events = require("kongpy.pdk.events")
local pdk_table = require("kongpy.pdk.table")

local null = ngx.null

local function raises(fn, want, ...)
    local ok, err = pcall(fn, ...)
    if ok then
        error("expected an error containing " .. want, 2)
    end
    if not string.find(tostring(err), want, 1, true) then
        error("expected an error containing '" .. want .. "', got: " .. tostring(err), 2)
    end
end

local cases = {}

local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

case("tools.table merge/contains/copies", function()
    local m = tools_table.table_merge({ a = 1, b = 2 }, { b = 3 })
    eq(m.a, 1, "a")
    eq(m.b, 3, "b")
    eq(tools_table.table_contains({ "x" }, "x"), true, "contains")
    eq(tools_table.table_contains(nil, "x"), false, "contains nil")
    local orig = { t = { 1 } }
    orig.self = orig
    local copy = tools_table.cycle_aware_deep_copy(orig)
    eq(copy.self, copy, "cycle kept")
    eq(copy.t ~= orig.t, true, "sub-table copied")
    eq(tools_table.deep_copy({ a = { b = 2 } }).a.b, 2, "deep_copy")
    eq(tools_table.deep_merge({ a = { x = 1 } }, { a = { y = 2 } }).a.x, 1, "deep_merge")
    eq(tools_table.pack(nil, nil).n, 2, "pack")
    eq(select("#", tools_table.unpack({ n = 2 })), 2, "unpack honours n")
    eq(#tools_table.concat({ 1 }, { 2, 3 }, {}), 3, "concat")
    eq(tools_table.is_array({ 1, 2, nil, 4 }), false, "strict holes")
    eq(tools_table.is_array({ [1] = 1, [3] = 3 }, "fast"), true, "fast")
    eq(tools_table.is_array({ ["1"] = "a" }, "lapis"), true, "lapis")
    local errs = tools_table.add_error(tools_table.add_error(nil, "k", "a"), "k", "b")
    eq(#errs.k, 2, "add_error")
    raises(function() tools_table.EMPTY.x = 1 end, "read-only")
end)

case("tools.string", function()
    local parts = tools_string.split("a,,b", ",")
    eq(#parts, 3, "split keeps empty fields")
    eq(parts[2], "", "empty field")
    eq(#tools_string.split("  a  b ", nil), 2, "split on whitespace")
    eq(tools_string.split("a,b,c", ",", 2)[2], "b,c", "split limit")
    eq(tools_string.strip(nil), "", "strip nil")
    eq(tools_string.strip(" x\n"), "x", "strip")
    eq(tools_string.bytes_to_str(2048, "k"), "2.00 KiB", "bytes k")
    eq(tools_string.bytes_to_str(2048), "2048", "bytes b")
    raises(tools_string.bytes_to_str, "invalid unit", 1, "q")
    eq(tools_string.validate_utf8("héllo"), true, "utf8")
    eq(tools_string.validate_utf8("\255"), false, "not utf8")
    eq(tools_string.try_decode_base64("aGk="), "hi", "base64")
    eq(tools_string.try_decode_base64("aGk"), "hi", "base64url")
    eq(tools_string.replace_dashes_lower("X-Foo"), "x_foo", "dashes")
end)

case("tools.uuid, rand, http, utils", function()
    local id = tools_uuid.uuid()
    eq(tools_uuid.is_valid_uuid(id), true, "uuid " .. id)
    eq(string.sub(id, 15, 15), "4", "version 4")
    eq(tools_uuid.is_valid_uuid("nope"), false, "invalid")
    eq(#tools_rand.get_rand_bytes(100), 100, "rand bytes")
    eq(#tools_rand.random_string(), 32, "random string")
    eq(tools_http.encode_args({ b = { 1, 2 }, a = "x y", c = null }),
       "a=x%20y&b%5b1%5d=1&b%5b2%5d=2&c=", "encode_args")
    eq(tools_http.encode_args({ s = { t = "v" } }), "s%2et=v", "nested keys escaped as Kong")
    local d = tools_http.decode_args({ a = "", b = "true", c = { ["1"] = "x", ["2"] = "y" } })
    eq(d.a, null, "empty -> null")
    eq(d.b, true, "true")
    eq(d.c[2], "y", "array")
    eq(utils.table_merge == tools_table.table_merge, true, "utils aggregates table")
    eq(utils.split == tools_string.split, true, "utils aggregates string")
    eq(utils.hostname_type("::1"), "ipv6", "ipv6")
    eq(utils.hostname_type("10.0.0.1"), "ipv4", "ipv4")
    eq(utils.format_host("::1", 80), "[::1]:80", "format_host")
    eq(utils.load_module_if_exists("kong.tools.table"), true, "module exists")
    eq(utils.load_module_if_exists("no.such.module"), false, "module missing")
end)

case("kong.table", function()
    local t = pdk_table.new(2, 2)
    t.a = 1
    pdk_table.clear(t)
    eq(next(t), nil, "cleared")
    eq(pdk_table.merge({ a = 1 }, { a = 2, b = 3 }).a, 2, "merge")
end)

case("vault references", function()
    eq(vault.is_reference("{vault://env/x}"), true, "reference")
    eq(vault.is_reference("{vault:/env/x}"), true, "Kong only checks the prefix")
    eq(vault.is_reference("vault://env/x"), false, "no braces")
    eq(vault.is_reference(42), false, "number")
    local r = vault.parse_reference("{vault://env/res/key?prefix=p#3}")
    eq(r.name, "env", "name")
    eq(r.resource, "res", "resource")
    eq(r.key, "key", "key")
    eq(r.version, 3, "version")
    eq(r.config.prefix, "p", "config")
    eq(select(2, vault.get("plain")), "not a reference", "get plain")
    raises(vault.get, "vaults are not supported yet", "{vault://env/x}")
    raises(vault.update, "kong.vault.update: vaults are not supported yet",
           { a = { "{vault://env/x}" } })
    eq(vault.update({ a = "b" }).a, "b", "update without references")
end)

case("header checks", function()
    raises(checks.header, 'invalid header name "1": got number', 1, "v")
    raises(checks.header, 'invalid header value for "X": got nil', "X", nil)
    raises(checks.header, 'invalid header value in array "X": got table', "X", { {} })
    checks.header("X", { "a", 1, true })
    eq(checks.normalize(5), "5", "number")
    eq(checks.normalize({ 1, "b" })[1], "1", "array")
end)

case("phase checks outside a request", function()
    local log_only = phase.new("log")
    raises(phase.check, "x.y: function cannot be called in init phase (only in: log)", "x.y",
           log_only)
    raises(phase.check, "(only in: rewrite, access, response, header_filter, body_filter, log, "
           .. "error, admin_api)", "z", phase.REQUEST)
    phase.check_not("x", phase.PHASES.init_worker)
    raises(phase.unsupported, "f: not supported: because", "f", "because")
    eq(phase.current(), "init", "current")
end)

-- A configuration as kongpy.state builds it, served through kongpy.pdk.store.
local CONSUMER = "5b4a5e56-1c4a-4b1e-9f0a-2b8d3a1e7c11"

local function serve(version)
    settings.entities = {
        consumers = { unique = { "username", "custom_id" }, cache_key = {}, foreign = {} },
        keyauth_credentials = { unique = { "key" }, cache_key = { "key" },
                                foreign = { "consumer" }, ttl = true },
        acls = { unique = {}, cache_key = { "consumer", "group" }, foreign = { "consumer" } },
    }
    store.current = {
        version = version, indexes = {}, index_specs = {}, arrays = {},
        entities = {
            consumers = {
                [CONSUMER] = { id = CONSUMER, username = "ann", custom_id = null },
                c2 = { id = "c2", username = "bob", custom_id = "b" },
            },
            keyauth_credentials = {
                k1 = { id = "k1", key = "ann-key", consumer = { id = CONSUMER } },
                k2 = { id = "k2", key = "old", consumer = { id = CONSUMER }, expires_at = 1 },
            },
            acls = { a1 = { id = "a1", group = "admins", consumer = { id = CONSUMER } } },
        },
    }
end

case("kong.db reads", function()
    serve(1)
    local consumers = dao.consumers
    eq(consumers:select({ id = CONSUMER }).username, "ann", "select")
    eq(consumers:select({ id = CONSUMER }).custom_id, nil, "no JSON nulls")
    eq(consumers:select({ id = CONSUMER }, { nulls = true }).custom_id, null, "nulls option")
    eq(consumers:select_by_username("bob").id, "c2", "select_by_username")
    eq(consumers:select_by_custom_id("b").id, "c2", "select_by_custom_id")
    eq(consumers.select_by_nothing, nil, "only unique fields")
    local creds = dao.keyauth_credentials
    eq(creds:select_by_key("ann-key").id, "k1", "select_by_key")
    eq(creds:select_by_key("old"), nil, "expired rows are gone")
    local n = 0
    for row in creds:each_for_consumer({ id = CONSUMER }) do
        n = n + 1
        eq(row.id, "k1", "each_for_consumer")
    end
    eq(n, 1, "each_for_consumer count")
    local page, err, _, offset = consumers:page(1)
    eq(err, nil, "page err")
    eq(#page, 1, "page size")
    eq(page[1].id, CONSUMER, "id order")
    eq(offset, "2", "next offset")
    local rest = consumers:page(1, offset)
    eq(rest[1].id, "c2", "second page")
    eq(select(2, consumers:page(1, "zz")), "invalid offset", "bad offset")
    local all = 0
    for _ in consumers:each() do
        all = all + 1
    end
    eq(all, 2, "each")
    eq(creds:cache_key("ann-key"), "keyauth_credentials:ann-key:::::", "cache_key string")
    eq(creds:cache_key(creds:select_by_key("ann-key")), "keyauth_credentials:ann-key:::::",
       "cache_key row")
    eq(dao.acls:cache_key({ consumer = { id = "c" }, group = "g" }), "acls:c:g::::",
       "composite cache_key")
    eq(consumers:cache_key({ id = "x" }), "consumers:x:::::", "primary key")
    eq(dao.acls:select_by_cache_key("acls:" .. CONSUMER .. ":admins::::").id, "a1",
       "select_by_cache_key")
    eq(dao.nothing_here, nil, "unknown entity")
    raises(function() return consumers:insert({}) end,
           "kong.db.consumers:insert: the data plane cannot write to the datastore")
    raises(function() return creds:delete_by_key("x") end,
           "kong.db.keyauth_credentials:delete_by_key: the data plane cannot write")
end)

case("kong.cache", function()
    serve(1)
    local calls = 0
    local function load(v)
        calls = calls + 1
        return v
    end
    local key = "t:" .. tools_uuid.uuid()
    local v, err, hit = cache:get(key, nil, load, "one")
    local _
    eq(v, "one", "value")
    eq(err, nil, "err")
    eq(hit, 3, "callback")
    v, _, hit = cache:get(key, nil, load, "two")
    eq(v, "one", "cached")
    eq(hit, 1, "level 1")
    local miss = "t:" .. tools_uuid.uuid()
    eq(cache:get(miss, { neg_ttl = 100 }, load, nil), nil, "negative")
    eq(select(3, cache:get(miss, nil, load, "x")), 1, "negative cached")
    eq(calls, 2, "callback calls")
    local failing = "t:" .. tools_uuid.uuid()
    v, err = cache:get(failing, nil, function() error("boom") end)
    eq(v, nil, "no value on error")
    eq(string.find(err, "callback threw an error", 1, true) ~= nil, true, err)
    v, err = cache:get(failing, nil, function() return nil, "soft" end)
    eq(v, nil, "no value on returned error")
    eq(err, "soft", "returned error")
    eq(cache:probe(failing), nil, "errors are not cached")
    local ttl, perr, pv = cache:probe(key)
    eq(ttl, 0, "probe ttl")
    eq(perr, nil, "probe err")
    eq(pv, "one", "probe value")
    cache:invalidate(key)
    eq(cache:probe(key), nil, "invalidated")
    eq(select(3, cache:get(key, nil, load, "three")), 3, "reloaded")
    raises(function() cache:get(1) end, "key must be a string")
    raises(function() cache:get("k", nil, "nope") end, "callback must be a function")
    local res = cache:get_bulk({ "t:b1", nil, load, "B1", "t:b2", nil, load, "B2", n = 2 })
    eq(res.n, 2, "bulk n")
    eq(res[1], "B1", "bulk 1")
    eq(res[4], "B2", "bulk 2")
end)

case("kong.cache entity keys live one configuration", function()
    serve(1)
    local key = "consumers:" .. tools_uuid.uuid()
    eq(cache:get(key, nil, function() return "v1" end), "v1", "first")
    eq(select(3, cache:get(key, nil, function() return "v2" end)), 1, "same version")
    serve(2)
    eq(cache:get(key, nil, function() return "v2" end), "v2", "new version")
    eq(ngx.shared.kongpy_cache:get("c:0:" .. key), nil, "never in the shared dict")
end)

case("kong.worker_events local delivery", function()
    local got = {}
    local function cb(data, event, source)
        got[#got + 1] = source .. ":" .. event .. ":" .. tostring(data)
    end
    events.register(cb, "unit", "a")
    events.register(cb, "unit-all")
    events.post_local("unit", "a", 1)
    events.post_local("unit", "b", 2)
    events.post_local("unit-all", "z", 3)
    eq(#got, 2, "delivered " .. table.concat(got, ","))
    eq(got[1], "unit:a:1", "by event")
    eq(got[2], "unit-all:z:3", "whole source")
    events.unregister(cb, "unit", "a")
    events.post_local("unit", "a", 4)
    eq(#got, 2, "unregistered")
    raises(events.post_local, "event is required", "unit")
    eq(events.post("unit", "stored", { x = 1 }), true, "post")
end)

return cases
