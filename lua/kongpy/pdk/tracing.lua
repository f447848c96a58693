-- kong.tracing and kong.telemetry (Kong 3.9's PDK tracer). With the node's
-- tracing_instrumentations off, kong.tracing is the no-op tracer: spans
-- accept every call and record nothing, and the data plane does no per-request
-- work beyond one flag check (kongpy.tracing_hooks). A tracer made with
-- kong.tracing.new() records spans in any case: the opentelemetry plugin
-- makes one to propagate headers while instrumentation is off, as Kong's.
--
-- Spans of a request live in ngx.ctx.KONG_SPANS (Kong's name: plugins read
-- it), the first one being the request's root. Ids are binary strings
-- (16-byte trace id, 8-byte span id); times are nanoseconds since the epoch.
local rand = require("kong.tools.rand")
local time_ns = require("kong.tools.time").time_ns

local ngx = ngx
local setmetatable = setmetatable
local type = type
local byte = string.byte
local get_rand_bytes = rand.get_rand_bytes

local _M = {}

local function noop() end

local noop_span = {
    is_recording = false,
    finish = noop,
    set_attribute = noop,
    add_event = noop,
    record_error = noop,
    set_status = noop,
    release = noop,
    each_baggage_item = function() return noop end,
}
setmetatable(noop_span, { __newindex = noop })

local noop_tracer = {
    name = "noop",
    start_span = function() return noop_span end,
    create_span = function() return noop_span end,
    link_span = noop,
    active_span = noop,
    get_active_span = noop,
    set_active_span = noop,
    process_span = noop,
    set_should_sample = noop,
    get_sampling_decision = noop,
    set_global_tracer = noop,
}

-- Kong's span kinds (the OTLP enumeration)
_M.KIND = { INTERNAL = 1, SERVER = 2, CLIENT = 3, PRODUCER = 4, CONSUMER = 5 }
local INTERNAL = 1

_M.time_ns = time_ns

local span_mt = {}
span_mt.__index = span_mt
span_mt.is_recording = true

function span_mt:finish(end_time_ns)
    if self.end_time_ns then
        return
    end
    self.end_time_ns = end_time_ns or time_ns()
    local ctx = ngx.ctx
    if ctx.KONG_ACTIVE_SPAN == self then
        ctx.KONG_ACTIVE_SPAN = self.parent
    end
end

function span_mt:set_attribute(key, value)
    local attrs = self.attributes
    if not attrs then
        if value == nil then
            return
        end
        attrs = {}
        self.attributes = attrs
    end
    attrs[key] = value
end

function span_mt:add_event(name, attributes)
    local events = self.events
    if not events then
        events = {}
        self.events = events
    end
    events[#events + 1] = { name = name, time_ns = time_ns(), attributes = attributes }
end

function span_mt:record_error(err)
    self:add_event("exception", { ["exception.message"] = type(err) == "string" and err
                                                          or tostring(err) })
end

-- 0 unset, 1 ok, 2 error (OTLP's status codes)
function span_mt:set_status(code)
    self.status = { code = code }
end

function span_mt.release()
end

function span_mt.each_baggage_item()
    return noop
end

local BOUND = 2 ^ 56

-- Kong's trace-id-ratio sampler: the same trace id gets the same answer on
-- every node, so a trace is kept or dropped whole.
local function sample(trace_id, rate)
    if rate >= 1 then
        return true
    elseif rate <= 0 then
        return false
    end
    -- the last 7 bytes: 64-bit ids (b3, datadog) have them too
    local v = 0
    local n = #trace_id
    for i = n - 6, n do
        v = v * 256 + byte(trace_id, i)
    end
    return v < rate * BOUND
end
_M.sample = sample

local function new_tracer(name, options)
    local rate = options and options.sampling_rate or _M.sampling_rate
    local tracer = { name = name }

    -- a span outside the request's list (Kong links it later, link_span)
    function tracer.create_span(span_name, opts)
        opts = opts or {}
        local parent = opts.parent
        local span = setmetatable({
            name = span_name,
            tracer = tracer,
            parent = parent,
            kind = opts.span_kind or INTERNAL,
            start_time_ns = opts.start_time_ns or time_ns(),
            attributes = opts.attributes,
            should_sample = opts.should_sample,
        }, span_mt)
        if parent then
            span.trace_id = parent.trace_id
            span.parent_id = parent.span_id
            if span.should_sample == nil then
                span.should_sample = parent.should_sample
            end
        else
            span.trace_id = opts.trace_id or get_rand_bytes(16)
        end
        span.span_id = get_rand_bytes(8)
        return span
    end

    local function add(ctx, span)
        local spans = ctx.KONG_SPANS
        if not spans then
            spans = {}
            ctx.KONG_SPANS = spans
        end
        spans[#spans + 1] = span
    end

    function tracer.start_span(span_name, opts)
        local ctx = ngx.ctx
        opts = opts or {}
        if not opts.parent then
            opts.parent = ctx.KONG_ACTIVE_SPAN
        end
        local span = tracer.create_span(span_name, opts)
        if not opts.parent and span.should_sample == nil then
            span.should_sample = sample(span.trace_id, rate)
        end
        add(ctx, span)
        if not ctx.KONG_ACTIVE_SPAN then
            ctx.KONG_ACTIVE_SPAN = span
        end
        return span
    end

    -- a span made by create_span joins the request's list under its name
    function tracer.link_span(_, span, span_name, opts)
        if span.linked then
            return
        end
        span.linked = true
        span.name = span_name
        if opts then
            span.kind = opts.span_kind or span.kind
            span.start_time_ns = opts.start_time_ns or span.start_time_ns
            span.attributes = opts.attributes or span.attributes
        end
        add(ngx.ctx, span)
    end

    function tracer.active_span()
        return ngx.ctx.KONG_ACTIVE_SPAN
    end
    tracer.get_active_span = tracer.active_span

    function tracer.set_active_span(span)
        ngx.ctx.KONG_ACTIVE_SPAN = span
    end

    -- log phase: processor(span, ...) for each finished span of this tracer
    -- (the global tracer's spans whatever tracer asks)
    function tracer.process_span(processor, ...)
        local spans = ngx.ctx.KONG_SPANS
        if not spans then
            return
        end
        for i = 1, #spans do
            local span = spans[i]
            if span.end_time_ns then
                processor(span, ...)
            end
        end
    end

    function tracer.set_should_sample(_, sampled)
        local spans = ngx.ctx.KONG_SPANS
        if not spans then
            return
        end
        for i = 1, #spans do
            spans[i].should_sample = sampled
        end
    end

    -- Kong 3.9: no root span or a propagation-only one → not sampled; a
    -- plugin rate of 0 or 1 decides alone; else the parent's decision, else
    -- the ratio sampler on the trace id.
    function tracer.get_sampling_decision(_, parent_should_sample, plugin_rate)
        local ctx = ngx.ctx
        local root = ctx.KONG_SPANS and ctx.KONG_SPANS[1]
        if not root or root.attributes and root.attributes["kong.propagation_only"] then
            return false
        end
        local r = plugin_rate or rate
        if plugin_rate and (r == 0 or r == 1) then
            return r == 1
        elseif parent_should_sample ~= nil then
            return parent_should_sample
        end
        return sample(ctx.KONG_TRACE_ID or root.trace_id, r)
    end

    function tracer.new(n, o)
        return new_tracer(n, o)
    end

    tracer.set_global_tracer = noop
    return tracer
end

-- A tracer that records, whatever tracing_instrumentations says.
_M.new = new_tracer
noop_tracer.new = new_tracer

_M.sampling_rate = 0.01
_M.enabled = false
_M.noop = noop_tracer
_M.tracing = noop_tracer
_M.telemetry = { log = noop }
_M.span = noop_span

-- init(settings.tracing): the global tracer of this node
function _M.init(conf)
    local kinds = type(conf) == "table" and conf.instrumentations or {}
    _M.sampling_rate = type(conf) == "table" and tonumber(conf.sampling_rate) or 0.01
    _M.instrumentations = {}
    for _, k in ipairs(kinds) do
        _M.instrumentations[k] = true
    end
    _M.enabled = #kinds > 0
    _M.tracing = _M.enabled and new_tracer("instrument") or noop_tracer
    return _M.tracing
end

return _M
