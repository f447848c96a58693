-- kong.observability.tracing.tracing_context: what the tracing plugins of
-- one request share (Kong 3.9): the trace id extracted from the request (it
-- replaces every span's own at export) and the balancer span created before
-- any try, whose id is the parent the upstream is told about.
local instrumentation = require("kongpy.instrumentation")

local ngx = ngx

local _M = {}

function _M.get_raw_trace_id(ctx)
    return (ctx or ngx.ctx).KONG_TRACE_ID
end

function _M.set_raw_trace_id(trace_id, ctx)
    (ctx or ngx.ctx).KONG_TRACE_ID = trace_id
end

-- "balancer": created on first ask when the balancer instrumentation is on
function _M.get_unlinked_span(name, ctx)
    ctx = ctx or ngx.ctx
    if name ~= "balancer" then
        return nil
    end
    local span = instrumentation.upstream_span(ctx)
    if span and not span.linked then
        return span
    end
end

-- The tries of the request's balancer: access asks, log reads. Each try is
-- the log object's (kongpy.balancer): balancer_start(_ns), ip, port, and for
-- a failed one state and code; nil when the request was not proxied.
function _M.want_balancer_tries(ctx)
    -- the balancer looks at the request only once some request asked
    instrumentation.tries_wanted = true
    ctx = ctx or ngx.ctx
    ctx.kongpy_tries_wanted = true
end

function _M.get_balancer_tries(ctx)
    return (ctx or ngx.ctx).kongpy_tries
end

-- Kong's balancer_data.hostname when the service names an upstream: the
-- name of the target the last try went to (nil otherwise: then it is the
-- service's host).
function _M.get_balancer_hostname(ctx)
    local addr = (ctx or ngx.ctx).kongpy_addr
    local target = addr and addr.target
    return target and target.host_text
end

return _M
