-- The spans the data plane records when tracing_instrumentations is not
-- off (Kong 3.9's kong.observability.tracing.instrumentation): the request's
-- root span `kong`, `kong.router`, `kong.<phase>.plugin.<name>`, one
-- `kong.balancer` span per try (the upstream call: the last try's span is
-- the one whose id the propagation plugins send upstream), `kong.dns`.
-- kongpy.init calls in only when `_M.enabled`: with tracing off a request
-- pays one flag check.
local connect_times = require("kongpy.tools.connect_times")
local tracing = require("kongpy.pdk.tracing")
local request_id = require("kongpy.request_id").get

local ngx = ngx
local var = ngx.var
local get_method = ngx.req.get_method
local http_version = ngx.req.http_version
local req_start_time = ngx.req.start_time

local format = string.format
local min = math.min
local time_ns = tracing.time_ns

local SERVER, CLIENT = tracing.KIND.SERVER, tracing.KIND.CLIENT
local ERROR = 2

-- tries_wanted: a plugin asked for balancer tries (zipkin) in this worker
local _M = { enabled = false, tries_wanted = false }

local tracer = tracing.noop
local on = {}

function _M.init(conf)
    tracer = tracing.init(conf)
    _M.enabled = tracing.enabled
    local kinds = tracing.instrumentations or {}
    local all = kinds.all
    for _, k in ipairs({ "router", "balancer", "dns_query", "plugin_rewrite", "plugin_access",
                         "plugin_header_filter", "db_query", "http_client" }) do
        on[k] = _M.enabled and (all or kinds[k]) or false
    end
    _M.balancer = on.balancer
    _M.plugin_rewrite = on.plugin_rewrite
    _M.plugin_access = on.plugin_access
    _M.plugin_header_filter = on.plugin_header_filter
    _M.dns_query = on.dns_query
    return tracer
end

-- the root span, once per request (rewrite or access, whichever runs first)
function _M.request(ctx)
    if ctx.KONG_SPANS then
        return
    end
    local scheme = var.scheme
    local host = var.host
    local flavor = http_version()
    if type(flavor) == "number" then
        flavor = format("%.1f", flavor)
    end
    local span = tracer.start_span("kong", {
        span_kind = SERVER,
        start_time_ns = req_start_time() * 1e9,
        attributes = {
            ["http.method"] = get_method(),
            ["http.url"] = scheme .. "://" .. host .. var.request_uri,
            ["http.host"] = host,
            ["http.scheme"] = scheme,
            ["http.flavor"] = flavor,
            ["http.client_ip"] = kong.client.get_forwarded_ip(),
            ["net.peer.ip"] = var.remote_addr,
            ["kong.request.id"] = request_id(),
        },
    })
    tracer.set_active_span(span)
end

function _M.router_start()
    if on.router then
        return tracer.start_span("kong.router")
    end
end

local function name_cache(phase)
    return setmetatable({}, { __index = function(t, name)
        local n = "kong." .. phase .. ".plugin." .. name
        t[name] = n
        return n
    end })
end
local plugin_names = { rewrite = name_cache("rewrite"), access = name_cache("access"),
                       header_filter = name_cache("header_filter") }

-- `kong.dns` around a name resolution of the request (the caller checks
-- _M.dns_query)
function _M.dns_start()
    local span = tracer.start_span("kong.dns", { span_kind = CLIENT })
    tracer.set_active_span(span)
    return span
end

function _M.dns_end(span, host, port, rec, err)
    span:set_attribute("dns.record.domain", host)
    span:set_attribute("dns.record.port", port)
    if rec then
        span:set_attribute("dns.record.ip", rec.addrs[1])
    else
        span:record_error(err)
        span:set_status(ERROR)
    end
    span:finish()
end

-- a plugin phase's span (the caller checks _M.plugin_<phase>)
function _M.plugin(phase, name)
    local span = tracer.start_span(plugin_names[phase][name])
    tracer.set_active_span(span)
    return span
end

-- The span the propagation plugins name as the parent upstream: Kong
-- pre-creates the balancer span so its id can be sent before any try.
function _M.upstream_span(ctx)
    if not on.balancer then
        return nil
    end
    local span = ctx.kongpy_balancer_span
    if not span then
        span = tracer.create_span(nil, { span_kind = CLIENT,
                                         parent = ctx.KONG_SPANS and ctx.KONG_SPANS[1] })
        ctx.kongpy_balancer_span = span
    end
    return span
end

local function balancer_spans(ctx, end_ns)
    local tries = ctx.kongpy_tries
    if not tries then
        return
    end
    local n = #tries
    local connect = connect_times(var, 1e9)
    local host = ctx.kongpy_service and ctx.kongpy_service.host
    for i = 1, n do
        local try = tries[i]
        local opts = { span_kind = CLIENT, start_time_ns = try.balancer_start_ns,
                       attributes = { try_count = i, ["net.peer.ip"] = try.ip,
                                      ["net.peer.port"] = try.port,
                                      ["net.peer.name"] = host } }
        local span
        local last = ctx.kongpy_balancer_span
        if i == n and last then
            span = last
            tracer:link_span(span, "kong.balancer", opts)
        else
            opts.parent = ctx.KONG_SPANS[1]
            span = tracer.start_span("kong.balancer", opts)
        end
        if try.state then
            span:set_attribute("http.status_code", try.code)
            span:set_status(ERROR)
        end
        -- as Kong: the try that answered lasts until the answer is through;
        -- a failed one lasts its balancer run and its connection to the
        -- peer. The connect time counts whole milliseconds, so that sum may
        -- pass the root's end, which a child never outlasts.
        local latency_ns = try.balancer_latency_ns
        local finish = end_ns
        if latency_ns and (i < n or try.state) then
            finish = min(try.balancer_start_ns + latency_ns + (connect[i] or 0), end_ns)
        end
        span:finish(finish)
    end
end

-- header_filter: the root span learns the status and the route's path
function _M.header_filter(ctx)
    local spans = ctx.KONG_SPANS
    local root = spans and spans[1]
    if root then
        root:set_attribute("http.status_code", ngx.status)
        local r = ctx.kongpy_route
        root:set_attribute("http.route", r and type(r.paths) == "table" and r.paths[1] or "")
    end
end

-- log phase, before the plugins: balancer spans, then the root ends
function _M.log(ctx)
    local spans = ctx.KONG_SPANS
    if not spans then
        return
    end
    local end_ns = time_ns()
    if on.balancer then
        balancer_spans(ctx, end_ns)
    end
    local root = spans[1]
    root:finish(end_ns)
end

return _M
