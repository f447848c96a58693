-- kong.tracing and kong.telemetry: Kong's no-op tracer (what Kong runs with
-- tracing_instrumentations off). Spans accept every call and record nothing.
local setmetatable = setmetatable

local function noop() end

local span = {
    is_recording = false,
    finish = noop,
    set_attribute = noop,
    add_event = noop,
    record_error = noop,
    set_status = noop,
    release = noop,
    each_baggage_item = function() return noop end,
}
setmetatable(span, { __newindex = noop })

local tracer = {
    name = "noop",
    start_span = function() return span end,
    create_span = function() return span end,
    link_span = noop,
    active_span = noop,
    get_active_span = noop,
    set_active_span = noop,
    process_span = noop,
    set_should_sample = noop,
    get_sampling_decision = noop,
}

-- new(name, options): every tracer is the no-op tracer.
function tracer.new()
    return tracer
end

tracer.set_global_tracer = noop

return {
    tracing = tracer,
    telemetry = { log = noop },
    span = span,
}
