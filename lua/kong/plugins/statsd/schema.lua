-- statsd (Kong 3.9): request metrics to a StatsD server, over UDP (several
-- per datagram up to udp_packet_size) or TCP, through a queue.
local typedefs = require("kong.db.schema.typedefs")
local constants = require("kong.plugins.statsd.constants")

local METRIC_NAMES = {
    "kong_latency", "latency", "request_count", "request_per_user", "request_size",
    "response_size", "status_count", "status_count_per_user", "unique_users",
    "upstream_latency", "status_count_per_workspace", "status_count_per_user_per_route",
    "shdict_usage",
}
local STAT_TYPES = { "counter", "gauge", "histogram", "meter", "set", "timer" }
local CONSUMER_IDENTIFIERS = { "consumer_id", "custom_id", "username" }
local SERVICE_IDENTIFIERS = { "service_id", "service_name", "service_host", "service_name_or_host" }
local WORKSPACE_IDENTIFIERS = { "workspace_id", "workspace_name" }
local TAG_STYLES = { "dogstatsd", "influxdb", "librato", "signalfx" }

-- Kong's defaults: all 13 metrics, counters and gauges sampled at 1, the
-- identifiers left to the *_identifier_default fields.
local DEFAULT_METRICS = {
    { name = "request_count", stat_type = "counter", sample_rate = 1 },
    { name = "latency", stat_type = "timer" },
    { name = "request_size", stat_type = "counter", sample_rate = 1 },
    { name = "status_count", stat_type = "counter", sample_rate = 1 },
    { name = "response_size", stat_type = "counter", sample_rate = 1 },
    { name = "unique_users", stat_type = "set" },
    { name = "request_per_user", stat_type = "counter", sample_rate = 1 },
    { name = "upstream_latency", stat_type = "timer" },
    { name = "kong_latency", stat_type = "timer" },
    { name = "status_count_per_user", stat_type = "counter", sample_rate = 1 },
    { name = "status_count_per_workspace", stat_type = "counter", sample_rate = 1 },
    { name = "status_count_per_user_per_route", stat_type = "counter", sample_rate = 1 },
    { name = "shdict_usage", stat_type = "gauge", sample_rate = 1 },
}

local function deprecated(type_name, field, instead, old_default)
    return {
        type = type_name,
        deprecation = {
            message = "statsd: config." .. field .. instead,
            removal_in_version = "4.0",
            old_default = old_default,
        },
    }
end

return {
    name = "statsd",
    fields = {
        { protocols = typedefs.protocols },
        { config = {
            type = "record",
            fields = {
                { host = typedefs.host({ default = "localhost" }) },
                { port = typedefs.port({ default = 8125 }) },
                { prefix = { type = "string", default = "kong" } },
                { metrics = {
                    type = "array",
                    default = DEFAULT_METRICS,
                    elements = {
                        type = "record",
                        fields = {
                            { name = { type = "string", required = true,
                                       one_of = METRIC_NAMES } },
                            { stat_type = { type = "string", required = true,
                                            one_of = STAT_TYPES } },
                            { sample_rate = { type = "number", gt = 0 } },
                            { consumer_identifier = { type = "string",
                                                      one_of = CONSUMER_IDENTIFIERS } },
                            { service_identifier = { type = "string",
                                                     one_of = SERVICE_IDENTIFIERS } },
                            { workspace_identifier = { type = "string",
                                                       one_of = WORKSPACE_IDENTIFIERS } },
                        },
                        entity_checks = {
                            { conditional = {
                                if_field = "stat_type",
                                if_match = { one_of = { "counter", "gauge" } },
                                then_field = "sample_rate",
                                then_match = { required = true },
                            } },
                        },
                    },
                } },
                { allow_status_codes = {
                    type = "array",
                    elements = { type = "string", match = constants.REGEX_STATUS_CODE_RANGE },
                } },
                -- 65507: the largest UDP payload (65535 - 8 UDP - 20 IP header bytes)
                { udp_packet_size = { type = "number", between = { 0, 65507 }, default = 0 } },
                { use_tcp = { type = "boolean", default = false } },
                { hostname_in_prefix = { type = "boolean", default = false } },
                { consumer_identifier_default = { type = "string", required = true,
                                                  default = "custom_id",
                                                  one_of = CONSUMER_IDENTIFIERS } },
                { service_identifier_default = { type = "string", required = true,
                                                 default = "service_name_or_host",
                                                 one_of = SERVICE_IDENTIFIERS } },
                { workspace_identifier_default = { type = "string", required = true,
                                                   default = "workspace_id",
                                                   one_of = WORKSPACE_IDENTIFIERS } },
                { retry_count = deprecated("integer", "retry_count",
                    " no longer works, please use config.queue.max_retry_time instead", 10) },
                { queue_size = deprecated("integer", "queue_size",
                    " is deprecated, please use config.queue.max_batch_size instead", 1) },
                { flush_timeout = deprecated("number", "flush_timeout",
                    " is deprecated, please use config.queue.max_coalescing_delay instead", 2) },
                { tag_style = { type = "string", required = false, one_of = TAG_STYLES } },
                { queue = typedefs.queue },
            },
        } },
    },
}
