-- zipkin (Kong 3.9): per request a SERVER span (the client's span id when
-- it sent one: Zipkin's shared span), a CLIENT `<name> (proxy)` child whose
-- id goes upstream, and a CLIENT `<name> (balancer try <n>)` child per try;
-- phase annotations or duration tags; B3 by default, any propagation format
-- on demand. Spans are reported only when sampled and http_endpoint is set.
local connect_times = require("kongpy.tools.connect_times")
local propagation = require("kong.observability.tracing.propagation")
local tracing_context = require("kong.observability.tracing.tracing_context")
local reporter = require("kong.plugins.zipkin.reporter")
local new_span = require("kong.plugins.zipkin.span").new
local rand = require("kong.tools.rand")
local to_hex = require("kongpy.tools.string").to_hex

local ngx = ngx
local kong = kong
local var = ngx.var
local now = ngx.now
local req_start_time = ngx.req.start_time

local type = type
local ipairs = ipairs
local floor = math.floor
local min = math.min
local random = math.random
local gmatch = string.gmatch
local match = string.match
local get_rand_bytes = rand.get_rand_bytes

local ZipkinLogHandler = {
    PRIORITY = 100000,
    VERSION = "3.9.1",
}

-- nginx's cached clock, as the phase marks (kongpy_access_end) and the
-- request's start; a balancer try's start comes from the real-time clock and
-- may be later by a fraction of a millisecond (span.finish clamps at zero)
local function now_mu()
    return now() * 1e6
end

-- Zipkin-Tags: `name=value` pairs separated by `;`, in one or more headers
local function request_tags(span, value)
    if type(value) == "string" then
        value = { value }
    end
    for _, v in ipairs(value or {}) do
        for pair in gmatch(v, "[^;]+") do
            local k, val = match(pair, "^%s*([^=%s]+)%s*=%s*(.-)%s*$")
            if k then
                span:set_tag(k, val)
            else
                kong.log.warn("Could not parse ", pair, " as a tag")
            end
        end
    end
end

local function context(conf, extracted)
    local pctx = kong.ctx.plugin
    local z = pctx.zipkin
    if z then
        return z
    end
    extracted = extracted or {}
    local req = kong.request
    local method = req.get_method()
    local name = conf.http_span_name == "method_path" and method .. " " .. req.get_path()
                 or method
    local sampled = extracted.should_sample
    if sampled == nil then
        sampled = random() < conf.sample_ratio
    end
    local span = new_span("SERVER", name, req_start_time() * 1e6, sampled,
                          extracted.trace_id or get_rand_bytes(conf.traceid_byte_count),
                          extracted.span_id, extracted.parent_id)
    span.ip = kong.client.get_forwarded_ip()
    span.port = kong.client.get_forwarded_port()
    span:set_tag("lc", "kong")
    span:set_tag("http.method", method)
    span:set_tag("http.host", req.get_host())
    span:set_tag("http.path", req.get_path())
    span:set_tag("http.protocol", "HTTP/" .. req.get_http_version())
    for _, t in ipairs(conf.static_tags or {}) do
        span:set_tag(t.name, t.value)
    end
    request_tags(span, req.get_header(conf.tags_header))
    z = { request = span }
    pctx.zipkin = z -- luacheck: ignore 122
    return z
end

local function proxy_span(z, at_mu)
    local p = z.proxy
    if not p then
        p = z.request:new_child("CLIENT", z.request.name .. " (proxy)", at_mu)
        z.proxy = p
    end
    return p
end

local function get_inject_ctx(extracted, conf)
    local z = context(conf, extracted)
    local p = proxy_span(z, now_mu())
    return { trace_id = p.trace_id, span_id = p.span_id, parent_id = p.parent_id,
             should_sample = p.should_sample, flags = extracted.flags,
             single_header = extracted.single_header }
end

function ZipkinLogHandler:access(conf)
    tracing_context.want_balancer_tries()
    propagation.propagate(propagation.get_plugin_params(conf), get_inject_ctx, conf)
end

function ZipkinLogHandler:header_filter(conf)
    local z = context(conf)
    local at = now_mu()
    local p = proxy_span(z, at)
    z.khs = at
    if conf.phase_duration_flavor == "annotations" then
        p:annotate("khs", at)
    end
    if conf.http_response_header_for_traceid then
        kong.response.add_header(conf.http_response_header_for_traceid, to_hex(p.trace_id))
    end
end

function ZipkinLogHandler:body_filter(conf)
    local z = context(conf)
    if not z.khf then
        local at = now_mu()
        z.khf = at
        if conf.phase_duration_flavor == "annotations" then
            z.proxy:annotate("khf", at)
            z.proxy:annotate("kbs", at)
        end
    end
end

local function service_and_route(span, service, route)
    if service then
        span:set_tag("kong.service", service.id)
        if type(service.name) == "string" then
            span.service_name = service.name
            span:set_tag("kong.service_name", service.name)
        end
    end
    if route then
        span:set_tag("kong.route", route.id)
        if type(route.name) == "string" then
            span:set_tag("kong.route_name", route.name)
        end
    end
end

-- As Kong: a try's span lasts its balancer run plus its connection to the
-- peer (not the wait for the answer, which is the proxy span's); every try
-- but the last is marked as an error.
local function balancer_spans(conf, z, service, route, at)
    local tries = tracing_context.get_balancer_tries()
    if not tries then
        return
    end
    local req, p = z.request, z.proxy
    local n = #tries
    local connect = connect_times(var, 1000)
    for i, try in ipairs(tries) do
        local span = req:new_child("CLIENT", req.name .. " (balancer try " .. i .. ")",
                                   try.balancer_start_ns / 1000)
        span.ip, span.port = try.ip, try.port
        span:set_tag("kong.balancer.try", i)
        if i < n then
            span:set_tag("error", true)
            span:set_tag("kong.balancer.state", try.state)
            span:set_tag("http.status_code", try.code)
        end
        service_and_route(span, service, route)
        local latency_ns = try.balancer_latency_ns
        if latency_ns then
            -- the connect time counts whole milliseconds: the sum may pass
            -- the request's end, which a child never outlasts
            span:finish(min((try.balancer_start_ns + latency_ns) / 1000
                            + (connect[i] or 0) * 1000, at))
        else
            span:finish(at)
        end
        reporter.report(conf, span)
    end
    local last = tries[n]
    p.ip, p.port = last.ip, last.port
    p:set_tag("peer.hostname", tracing_context.get_balancer_hostname()
                               or (service and service.host))
end

function ZipkinLogHandler:log(conf)
    local at = now_mu()
    local ctx = ngx.ctx
    local z = context(conf)
    local req = z.request
    local p = proxy_span(z, at)
    local access_end = ctx.kongpy_access_end and ctx.kongpy_access_end * 1e6 or at
    if conf.phase_duration_flavor == "annotations" then
        req:annotate("krs", req.timestamp)
        p:annotate("kas", p.timestamp)
        p:annotate("kaf", access_end)
        if not z.khf then
            p:annotate("khf", at)
        end
        p:annotate("kbf", at)
    else
        p:set_tag("kong.access.duration_ms", floor((access_end - p.timestamp) / 1000))
        if z.khs then
            p:set_tag("kong.header_filter.duration_ms", floor(((z.khf or at) - z.khs) / 1000))
        end
        if z.khf then
            p:set_tag("kong.body_filter.duration_ms", floor((at - z.khf) / 1000))
        end
    end
    local service, route = kong.router.get_service(), kong.router.get_route()
    balancer_spans(conf, z, service, route, at)
    req:set_tag("http.status_code", kong.response.get_status())
    local consumer = ctx.authenticated_consumer
    if consumer then
        req:set_tag("kong.consumer", consumer.id)
    end
    local credential = ctx.authenticated_credential
    if conf.include_credential and credential then
        req:set_tag("kong.credential", credential.id)
    end
    req:set_tag("kong.node.id", kong.node.get_id())
    service_and_route(p, service, route)
    p:finish(at)
    reporter.report(conf, p)
    req:finish(at)
    reporter.report(conf, req)
end

return ZipkinLogHandler
