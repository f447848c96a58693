-- response-ratelimiting (Kong 3.9): limits the upstream itself counts, by
-- name, through the X-Kong-Limit response header.
local typedefs = require("kong.db.schema.typedefs")
local redis_schema = require("kong.tools.redis.schema")
local shorthands = require("kong.plugins.rate-limiting.redis_shorthands")
local order = require("kong.plugins.rate-limiting.periods")

local PERIODS = order.PERIODS

-- rate-limiting's message, but this plugin of Kong's starts it in lower case
-- ("the limit for minute(1.0) cannot be lower than ...")
local function check_order(limit)
    local ok, err = order.check_order(limit)
    if not ok then
        return nil, (err:gsub("^T", "t", 1))
    end
    return true
end

local periods = {}
for _, p in ipairs(PERIODS) do
    periods[#periods + 1] = { [p] = { type = "number", gt = 0 } }
end

return {
    name = "response-ratelimiting",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { header_name = { type = "string", default = "x-kong-limit" } },
                { limit_by = { type = "string", default = "consumer",
                               one_of = { "consumer", "credential", "ip" } } },
                { policy = { type = "string", default = "local", len_min = 0,
                             one_of = { "local", "cluster", "redis" } } },
                { fault_tolerant = { type = "boolean", required = true, default = true } },
                { redis = redis_schema.config_schema },
                { block_on_first_violation = { type = "boolean", required = true,
                                               default = false } },
                { hide_client_headers = { type = "boolean", required = true, default = false } },
                { limits = {
                    type = "map", required = true, len_min = 1,
                    keys = { type = "string" },
                    values = {
                        type = "record", required = true,
                        fields = periods,
                        custom_validator = check_order,
                        entity_checks = { { at_least_one_of = PERIODS } },
                    },
                } },
            },
            shorthand_fields = shorthands.fields("response-ratelimiting"),
        } },
    },
    entity_checks = {
        { conditional = { if_field = "config.policy", if_match = { eq = "redis" },
                          then_field = "config.redis.host", then_match = { required = true } } },
        { conditional = { if_field = "config.policy", if_match = { eq = "redis" },
                          then_field = "config.redis.port", then_match = { required = true } } },
    },
}
