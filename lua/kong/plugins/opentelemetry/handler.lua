-- opentelemetry (Kong 3.9): W3C (or configured) trace context in and out in
-- access; the request's spans exported in the log phase through a per-worker
-- kong.tools.queue as OTLP/HTTP protobuf. With tracing_instrumentations off
-- the plugin still propagates, through a span made for that alone and never
-- exported (Kong's `kong.propagation_only`).
local Queue = require("kong.tools.queue")
local propagation = require("kong.observability.tracing.propagation")
local tracing_context = require("kong.observability.tracing.tracing_context")
local http_client = require("kongpy.tools.http_client")
local otlp = require("kong.plugins.opentelemetry.otlp")
local to_hex = require("kongpy.tools.string").to_hex

local ngx = ngx
local kong = kong

local pairs = pairs
local setmetatable = setmetatable
local tostring = tostring

local LOG_PREFIX = "[otel] "
local SCOPE_NAME = "kong-internal"
local SCOPE_VERSION = "0.1.0"

local OpenTelemetryHandler = {
    PRIORITY = 14,
    VERSION = "3.9.1",
}

local function get_inject_ctx(extracted, conf)
    local ctx = ngx.ctx
    local root = ctx.KONG_SPANS and ctx.KONG_SPANS[1]
    local tracer = kong.tracing.name == "noop" and kong.tracing.new("otel") or kong.tracing
    if not root then
        root = tracer.start_span("root")
        root:set_attribute("kong.propagation_only", true)
        kong.ctx.plugin.should_sample = false -- luacheck: ignore 122
    end
    local injected = tracing_context.get_unlinked_span("balancer") or root
    local trace_id = extracted.trace_id
    if trace_id then
        injected.trace_id = trace_id
        tracing_context.set_raw_trace_id(trace_id)
    end
    if extracted.span_id then
        root.parent_id = extracted.span_id
    elseif extracted.parent_id then
        root.parent_id = extracted.parent_id
    end
    local sampled
    if kong.ctx.plugin.should_sample == false then
        sampled = false
    else
        sampled = tracer:get_sampling_decision(extracted.should_sample, conf.sampling_rate)
    end
    tracer:set_should_sample(sampled)
    injected.should_sample = sampled
    return {
        trace_id = injected.trace_id,
        span_id = injected.span_id,
        parent_id = injected.parent_id,
        should_sample = sampled,
        flags = extracted.flags,
        single_header = extracted.single_header,
    }
end

function OpenTelemetryHandler:access(conf)
    propagation.propagate(propagation.get_plugin_params(conf), get_inject_ctx, conf)
end

function OpenTelemetryHandler:header_filter(conf)
    local name = conf.http_response_header_for_traceid
    if name then
        local trace_id = tracing_context.get_raw_trace_id()
        if not trace_id then
            local root = ngx.ctx.KONG_SPANS and ngx.ctx.KONG_SPANS[1]
            trace_id = root and root.trace_id
        end
        if trace_id then
            kong.response.add_header(name, to_hex(trace_id))
        end
    end
end

-- the resource of this node, with the instance's resource_attributes
local resources = setmetatable({}, { __mode = "k" })

local function resource_of(conf)
    local r = resources[conf]
    if not r then
        r = {
            ["service.name"] = "kong",
            ["service.instance.id"] = kong.node.get_id(),
            ["service.version"] = kong.version,
        }
        for k, v in pairs(conf.resource_attributes or {}) do
            r[k] = v
        end
        resources[conf] = r
    end
    return r
end

-- the queue's handler: one request per batch of encoded spans
local function export(conf, spans)
    local headers = { ["Content-Type"] = "application/x-protobuf" }
    for k, v in pairs(conf.headers or {}) do
        headers[k] = v
    end
    local body = otlp.encode_traces(spans, resource_of(conf), SCOPE_NAME, SCOPE_VERSION)
    local status, res = http_client.request(conf.traces_endpoint, {
        method = "POST", headers = headers, body = body,
        connect_timeout = conf.connect_timeout, send_timeout = conf.send_timeout,
        read_timeout = conf.read_timeout,
    })
    -- failures are reported by the queue, at a bounded rate
    if not status then
        return nil, LOG_PREFIX .. res
    end
    if status ~= 200 then
        return nil, LOG_PREFIX .. "response error: " .. tostring(status) .. ", body: "
                    .. tostring(res)
    end
    return true
end

function OpenTelemetryHandler:log(conf)
    if kong.ctx.plugin.should_sample == false then
        return
    end
    local trace_id = tracing_context.get_raw_trace_id()
    local queue_conf
    kong.tracing.process_span(function(span)
        if span.should_sample == false then
            return
        end
        if not queue_conf then
            queue_conf = Queue.get_plugin_params("opentelemetry", conf)
            queue_conf.name = queue_conf.name .. ":traces"
        end
        local ok, err = Queue.enqueue(queue_conf, export, conf,
                                      otlp.encode_span(span, trace_id))
        if not ok then
            kong.log.err("Failed to enqueue span to log server: ", err)
        end
    end)
end

return OpenTelemetryHandler
