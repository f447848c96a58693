-- opentelemetry (Kong 3.9): spans exported as OTLP/HTTP protobuf to
-- traces_endpoint; trace context propagated in and out (docs/tracing.md).
-- Kong's logs_endpoint (kong.telemetry.log records) is not implemented: a
-- configuration naming it is refused rather than silently half-served.
local typedefs = require("kong.db.schema.typedefs")
local Schema = require("kong.db.schema")

local pairs = pairs
local type = type

local ERR_LOGS = "logs_endpoint is not supported by this gateway (traces only)"

local function attributes_validator(attributes)
    for _, v in pairs(attributes) do
        local vtype = type(v)
        if vtype ~= "string" and vtype ~= "number" and vtype ~= "boolean" then
            return nil, "invalid type of value: " .. vtype
        end
        if vtype == "string" and #v == 0 then
            return nil, "required field missing"
        end
    end
    return true
end

local resource_attributes = Schema.define {
    type = "map",
    description = "Attributes added to the OpenTelemetry resource object; they override "
        .. "service.name (kong), service.version and service.instance.id.",
    keys = { type = "string", required = true },
    values = { type = "string", required = true },
    custom_validator = attributes_validator,
}

return {
    name = "opentelemetry",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { traces_endpoint = typedefs.url { referenceable = true } },
                { logs_endpoint = typedefs.url { referenceable = true } },
                { headers = {
                    description = "Custom headers of the requests sent to the OTLP server.",
                    type = "map",
                    keys = typedefs.header_name,
                    values = { type = "string", referenceable = true },
                } },
                { resource_attributes = resource_attributes },
                { queue = typedefs.queue { default = { max_batch_size = 200 } } },
                { batch_span_count = {
                    description = "The number of spans to be sent in a single batch.",
                    type = "integer",
                    deprecation = {
                        message = "opentelemetry: config.batch_span_count is deprecated, "
                            .. "please use config.queue.max_batch_size instead",
                        removal_in_version = "4.0", old_default = 200 },
                } },
                { batch_flush_delay = {
                    description = "The delay, in seconds, between two consecutive batches.",
                    type = "integer",
                    deprecation = {
                        message = "opentelemetry: config.batch_flush_delay is deprecated, "
                            .. "please use config.queue.max_coalescing_delay instead",
                        removal_in_version = "4.0", old_default = 3 },
                } },
                { connect_timeout = typedefs.timeout { default = 1000 } },
                { send_timeout = typedefs.timeout { default = 5000 } },
                { read_timeout = typedefs.timeout { default = 5000 } },
                { http_response_header_for_traceid = {
                    description = "A response header carrying the trace id.",
                    type = "string", default = nil } },
                { header_type = {
                    description = "The tracing header format expected on incoming requests.",
                    type = "string",
                    deprecation = {
                        message = "opentelemetry: config.header_type is deprecated, please "
                            .. "use config.propagation options instead",
                        removal_in_version = "4.0", old_default = "preserve" },
                    required = false, default = "preserve",
                    one_of = { "preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot",
                               "aws", "gcp", "datadog" } } },
                { sampling_rate = {
                    description = "Tracing sampling rate; supersedes tracing_sampling_rate.",
                    type = "number", between = { 0, 1 }, required = false, default = nil } },
                { propagation = typedefs.propagation { default = { default_format = "w3c" } } },
            },
            entity_checks = {
                { at_least_one_of = { "traces_endpoint", "logs_endpoint" } },
                { custom_entity_check = {
                    field_sources = { "logs_endpoint" },
                    fn = function(entity)
                        local v = entity.logs_endpoint
                        if v ~= nil and v ~= ngx.null then
                            return nil, ERR_LOGS
                        end
                        return true
                    end,
                } },
            },
            shorthand_fields = {
                { endpoint = typedefs.url {
                    referenceable = true,
                    deprecation = {
                        message = "OpenTelemetry: config.endpoint is deprecated, please use "
                            .. "config.traces_endpoint instead",
                        removal_in_version = "4.0" },
                    func = function(value)
                        return { traces_endpoint = value }
                    end,
                } },
            },
        } },
    },
}
