-- Realistic plugin schemas (tests/lua/fixtures, written the way Kong 3.9's
-- rate-limiting, cors and key-auth are) loaded as subschemas of the plugins
-- entity, with good and bad configurations.
local Entity = require("kong.db.schema.entity")
local h = require("schema_helpers")
local eq = require("runner").eq

local null = ngx.null
local same = h.same

local cases, case = h.suite()

local function plugins_with(name, module)
    local plugins = assert(Entity.new(require("kong.db.schema.entities.plugins")))
    local def = require(module)
    local ok, err = Entity.new_subschema(plugins, name, def)
    assert(ok, err)
    return plugins
end

-- The plugin as it would be stored, or nil and the error table.
local function insert(plugins, input)
    local data, err = plugins:process_auto_fields(input, "insert")
    if not data then
        return nil, err
    end
    local ok, errs = plugins:validate(data)
    if not ok then
        return nil, errs
    end
    return data
end

local function rl()
    return plugins_with("rate-limiting", "kong.plugins.rate-limiting.schema")
end

case("rate-limiting: a minimal config gets every default", function()
    local p = insert(rl(), { name = "rate-limiting", config = { minute = 5 } })
    eq(p.config.minute, 5)
    eq(p.config.second, null)
    eq(p.config.policy, "local")
    eq(p.config.limit_by, "consumer")
    eq(p.config.fault_tolerant, true)
    eq(p.config.error_code, 429)
    eq(p.config.sync_rate, -1)
    same(p.config.redis, { host = null, port = 6379, timeout = 2000, username = null,
                           password = null, database = 0, ssl = false, ssl_verify = false,
                           server_name = null })
    same(p.protocols, { "grpc", "grpcs", "http", "https" })
end)

case("rate-limiting: no limit at all", function()
    local _, errs = insert(rl(), { name = "rate-limiting", config = {} })
    same(errs, { ["@entity"] = { "at least one of these fields must be non-empty: "
        .. "'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', "
        .. "'config.year'" } })
end)

case("rate-limiting: bad values and periods out of order", function()
    local _, errs = insert(rl(), { name = "rate-limiting", config = {
        second = -1, limit_by = "moon", policy = "disk", header_name = "bad header" } })
    same(errs, { config = {
        second = "value must be greater than 0",
        limit_by = "expected one of: consumer, credential, ip, service, header, path",
        policy = "expected one of: local, cluster, redis",
        header_name = "bad header name 'bad header', allowed characters are A-Z, a-z, 0-9, "
            .. "'_', and '-'",
    } })
    _, errs = insert(rl(), { name = "rate-limiting", config = { minute = 10, hour = 5 } })
    same(errs, { config = "The limit for hour(5.0) cannot be lower than the limit for "
                          .. "minute(10.0)" })
end)

case("rate-limiting: redis policy needs a host (the port has a default)", function()
    local _, errs = insert(rl(), { name = "rate-limiting",
                                   config = { minute = 5, policy = "redis" } })
    same(errs, {
        config = { redis = { host = "required field missing" } },
        ["@entity"] = {
            "failed conditional validation given value of field 'config.policy'",
        },
    })
    local p = insert(rl(), { name = "rate-limiting", config = {
        minute = 5, policy = "redis", redis = { host = "localhost", port = 6379 } } })
    eq(p.config.redis.host, "localhost")
end)

case("rate-limiting: the deprecated redis_* shorthands still work", function()
    local p = insert(rl(), { name = "rate-limiting", config = {
        minute = 5, policy = "redis", redis_host = "cache", redis_port = 6380 } })
    eq(p.config.redis.host, "cache")
    eq(p.config.redis.port, 6380)
    eq(p.config.redis_host, nil)
    local plugins = rl()
    local read = plugins:process_auto_fields(p, "select")
    eq(read.config.redis_host, "cache")
    eq(read.config.redis_port, 6380)
end)

case("rate-limiting: header limits need a header name", function()
    local _, errs = insert(rl(), { name = "rate-limiting", config = {
        minute = 5, limit_by = "header" } })
    same(errs, { config = { header_name = "required field missing" }, ["@entity"] = {
        "failed conditional validation given value of field 'config.limit_by'" } })
end)

case("rate-limiting: partial update wording", function()
    local plugins = rl()
    local data = plugins:process_auto_fields({ name = "rate-limiting",
        config = { minute = null, sync_rate = -1 } }, "update")
    local _, errs = plugins:validate_update(data)
    same(errs, { ["@entity"] = { "when updating, at least one of these fields must be "
        .. "non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', "
        .. "'config.month', 'config.year'" } })
end)

local function cors()
    return plugins_with("cors", "kong.plugins.cors.schema")
end

case("cors: defaults and a good config", function()
    local p = insert(cors(), { name = "cors", config = {
        origins = { "*", "https://(.*)\\.example\\.com" }, max_age = 3600 } })
    same(p.config.methods, { "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS",
                             "TRACE", "CONNECT" })
    eq(p.config.credentials, false)
    eq(p.config.headers, null)
end)

case("cors: bad origins, methods and a consumer", function()
    local _, errs = insert(cors(), { name = "cors",
        consumer = { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01" },
        config = { origins = { "(" }, methods = { "GET", "FETCH" }, credentials = "yes" } })
    same(errs, {
        consumer = "value must be null",
        config = {
            origins = { "'(' is not a valid regex" },
            methods = { [2] = "expected one of: GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS, "
                              .. "TRACE, CONNECT" },
            credentials = "expected a boolean",
        },
    })
end)

case("cors: the schema as GET /schemas/plugins/cors shows it", function()
    local plugins = cors()
    local text = h.json(plugins.subschemas.cors:to_json())
    eq(text:find('{"entity_checks":[],"fields":[{"consumer":{"description":', 1, true) ~= nil,
       true)
    eq(text:find('"eq":null', 1, true) ~= nil, true)
    eq(text:find('"custom_validator"', 1, true), nil)
    eq(text:find('{"credentials":{"default":false,"required":true,"type":"boolean"}}', 1,
                 true) ~= nil, true)
end)

case("key-auth credentials: auto key, ttl, foreign consumer", function()
    local def = require("kong.plugins.key-auth.daos")[1]
    local creds = assert(Entity.new(def))
    local d = creds:process_auto_fields({ consumer = { id = "6a1b6d2f-04a4-4a52-9a4e-"
                                                             .. "2f7c1e4c7f01" } }, "insert")
    eq(#d.key, 32)
    eq(creds:validate(d), true)
    d.ttl = 10
    eq(creds:validate(d), true)
    local _, errs = creds:validate({ consumer = { id = "x" }, key = "" })
    same(errs, { consumer = { id = "expected a valid UUID" },
                 key = "length must be at least 1" })
    local desc = creds:describe()
    eq(desc.ttl, true)
    eq(desc.admin_api_name, "key-auths")
    same(desc.foreign, { { field = "consumer", reference = "consumers", on_delete = "cascade",
                           required = true } })
    same(desc.unique, { "key" })
end)

return cases
