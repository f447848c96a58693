-- rate-limiting (Kong 3.9): how many requests per window, counted per
-- consumer, credential, IP, service, header or path.
local typedefs = require("kong.db.schema.typedefs")
local redis_schema = require("kong.tools.redis.schema")
local shorthands = require("kong.plugins.rate-limiting.redis_shorthands")
local periods = require("kong.plugins.rate-limiting.periods")

local PERIODS = periods.PERIODS
local REALTIME = -1

local function check(config)
    local ok, err = periods.check_order(config)
    if not ok then
        return nil, err
    end
    if config.policy ~= "redis" and config.sync_rate ~= REALTIME then
        return nil, "sync_rate can only be used with the redis policy"
    end
    -- Kong batches a redis instance's counts every `sync_rate` seconds;
    -- kongpy counts in redis on every request, which keeps any such rate
    -- (the counters are never older than asked) and stays exact
    if config.policy == "redis" and config.sync_rate ~= REALTIME and config.sync_rate < 0.02 then
        return nil, "sync_rate must be greater than 0.02, or -1 to disable"
    end
    return true
end

local function limit(what)
    return { type = "number", gt = 0, description = "requests per " .. what }
end

local fields = {}
for _, p in ipairs(PERIODS) do
    fields[#fields + 1] = { [p] = limit(p) }
end
for _, item in ipairs({
    { limit_by = { type = "string", default = "consumer",
                   one_of = { "consumer", "credential", "ip", "service", "header", "path" } } },
    { header_name = typedefs.header_name },
    { path = typedefs.path },
    { policy = { type = "string", default = "local", len_min = 0,
                 one_of = { "local", "cluster", "redis" } } },
    { fault_tolerant = { type = "boolean", required = true, default = true } },
    { redis = redis_schema.config_schema },
    { hide_client_headers = { type = "boolean", required = true, default = false } },
    { error_code = { type = "number", default = 429, gt = 0 } },
    { error_message = { type = "string", default = "API rate limit exceeded" } },
    { sync_rate = { type = "number", required = true, default = REALTIME } },
}) do
    fields[#fields + 1] = item
end

local function required_when(if_field, value, then_field)
    return { conditional = { if_field = if_field, if_match = { eq = value },
                             then_field = then_field, then_match = { required = true } } }
end

return {
    name = "rate-limiting",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = fields,
            custom_validator = check,
            shorthand_fields = shorthands.fields("rate-limiting"),
        } },
    },
    entity_checks = {
        { at_least_one_of = { "config.second", "config.minute", "config.hour", "config.day",
                              "config.month", "config.year" } },
        required_when("config.policy", "redis", "config.redis.host"),
        required_when("config.policy", "redis", "config.redis.port"),
        required_when("config.policy", "redis", "config.redis.timeout"),
        required_when("config.limit_by", "header", "config.header_name"),
        required_when("config.limit_by", "path", "config.path"),
    },
}
