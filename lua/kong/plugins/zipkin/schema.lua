-- zipkin (Kong 3.9): Zipkin v2 JSON spans of each sampled request (docs/tracing.md).
-- Kong's zipkin also traces stream connections; the stream data plane runs
-- no tracing, so the plugin is offered for the http protocols only.
local typedefs = require("kong.db.schema.typedefs")
local Schema = require("kong.db.schema")

local type = type

local PROTECTED_TAGS = {
    "error", "http.method", "http.path", "http.status_code", "kong.balancer.state",
    "kong.balancer.try", "kong.consumer", "kong.credential", "kong.node.id", "kong.route",
    "kong.service", "lc", "peer.hostname",
}

local static_tag = Schema.define {
    type = "record",
    fields = {
        { name = { type = "string", required = true, not_one_of = PROTECTED_TAGS } },
        { value = { type = "string", required = true } },
    },
}

local function validate_static_tags(tags)
    if type(tags) ~= "table" then
        return true
    end
    local found = {}
    for i = 1, #tags do
        local name = tags[i].name
        if found[name] then
            return nil, "repeated tags are not allowed: " .. name
        end
        found[name] = true
    end
    return true
end

local FORMATS = { "b3", "b3-single", "w3c", "jaeger", "ot", "aws", "datadog", "gcp" }

return {
    name = "zipkin",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { local_service_name = {
                    description = "The name of the service as displayed in Zipkin.",
                    type = "string", required = true, default = "kong" } },
                { http_endpoint = typedefs.url },
                { sample_ratio = {
                    description = "How often to sample requests that do not contain trace "
                        .. "ids (0 to 1).",
                    type = "number", default = 0.001, between = { 0, 1 } } },
                { default_service_name = {
                    description = "The service name of spans whose service has none.",
                    type = "string", default = nil } },
                { include_credential = {
                    description = "Whether the consumer's credential id is a tag.",
                    type = "boolean", required = true, default = true } },
                { traceid_byte_count = {
                    description = "The length in bytes of each request's trace id.",
                    type = "integer", required = true, default = 16, one_of = { 8, 16 } } },
                { header_type = {
                    description = "The tracing header format expected on incoming requests.",
                    type = "string", required = true, default = "preserve",
                    one_of = { "preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot",
                               "aws", "datadog", "gcp" },
                    deprecation = {
                        message = "zipkin: config.header_type is deprecated, please use "
                            .. "config.propagation options instead",
                        removal_in_version = "4.0", old_default = "preserve" } } },
                { default_header_type = {
                    description = "The header format added to requests that carry none.",
                    type = "string", required = true, default = "b3", one_of = FORMATS,
                    deprecation = {
                        message = "zipkin: config.default_header_type is deprecated, please "
                            .. "use config.propagation.default_format instead",
                        removal_in_version = "4.0", old_default = "b3" } } },
                { tags_header = {
                    description = "A request header whose `name=value;...` pairs become tags.",
                    type = "string", required = true, default = "Zipkin-Tags" } },
                { static_tags = {
                    description = "Tags added to every request span.",
                    type = "array", elements = static_tag,
                    custom_validator = validate_static_tags } },
                { http_span_name = {
                    description = "Whether the span name includes the HTTP path.",
                    type = "string", required = true, default = "method",
                    one_of = { "method", "method_path" } } },
                { connect_timeout = typedefs.timeout { default = 2000 } },
                { send_timeout = typedefs.timeout { default = 5000 } },
                { read_timeout = typedefs.timeout { default = 5000 } },
                { http_response_header_for_traceid = { type = "string", default = nil } },
                { phase_duration_flavor = {
                    description = "Phase durations as annotations or as tags.",
                    type = "string", required = true, default = "annotations",
                    one_of = { "annotations", "tags" } } },
                { queue = typedefs.queue },
                { propagation = typedefs.propagation { default = { default_format = "b3" } } },
            },
        } },
    },
}
