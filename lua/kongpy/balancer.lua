-- Peer selection (contracts.md §6). The access phase picks the first peer:
-- a service (or kong.service.set_target host) naming an upstream is balanced
-- over its targets (kongpy.upstreams, kongpy.balancers.*), any other host is
-- resolved by DNS (cosockets are not available in the balancer phase). The
-- balancer phase sets the peer of each try; a retry reports the failed try
-- to kongpy.health and asks the same balancer for another peer. The log
-- phase reports the status and releases the peer (after_balance).
local ngx_balancer = require("ngx.balancer")
local dns = require("kongpy.dns")
local upstreams = require("kongpy.upstreams")
local health = require("kongpy.health")
local consistent_hashing = require("kongpy.balancers.consistent_hashing")
local time_ns = require("kong.tools.time").time_ns
local instrumentation = require("kongpy.instrumentation")

local ngx = ngx
local var = ngx.var
local floor = math.floor
local log = ngx.log
local ERR = ngx.ERR
local set_current_peer = ngx_balancer.set_current_peer
local set_more_tries = ngx_balancer.set_more_tries
local set_timeouts = ngx_balancer.set_timeouts
local get_last_failure = ngx_balancer.get_last_failure
local recreate_request = ngx_balancer.recreate_request
local hash_input = consistent_hashing.hash_input
local is_healthy = health.is_healthy

local byte = string.byte
local find = string.find
local match = string.match
local sub = string.sub

local LBRACKET = byte("[")
local ERR_RING = "failure to get a peer from the ring-balancer"
local ERR_INITIAL = "failed the initial dns/balancer resolve for '%s' with: %s"

local _M = {}

-- set by kongpy: the router match of the current request (uri captures)
_M.rematch = nil

local function literal_ip(host)
    if find(host, ":", 1, true) then
        return byte(host) == LBRACKET and sub(host, 2, -2) or host
    end
    if match(host, "^%d+%.%d+%.%d+%.%d+$") then
        return host
    end
end

-- Kong's balancer health: unhealthy unless the available share of the
-- weight is above healthchecks.threshold (only checked when one is set).
local function above_threshold(up)
    local total, available = 0, 0
    local addrs, uid = up.addresses, up.id
    for i = 1, #addrs do
        local a = addrs[i]
        local w = a.weight
        total = total + w
        if w > 0 and is_healthy(uid, a.ip, a.port) then
            available = available + w
        end
    end
    return total > 0 and available * 100 / total > up.threshold
end

local function balance(ctx, service, up, preserve_host)
    if up.threshold > 0 and not above_threshold(up) then
        return nil, 503, ERR_RING
    end
    local b = up.balancer
    local hash
    local spec = up.hash
    if spec then
        local over = ctx.kongpy_balancer
        hash = over and over.hash_value or hash_input(spec, ctx, _M.rematch)
        ctx.kongpy_hash = hash
    end
    local addr, err = b:get_peer(ctx, hash, nil)
    if not addr then
        if err == "No peers are available" or err == "Balancer is unhealthy" then
            return nil, 503, ERR_RING
        end
        return nil, 500, ERR_INITIAL:format(up.name, err)
    end
    ctx.kongpy_upstream = up
    ctx.kongpy_lb = b
    ctx.kongpy_addr = addr
    ctx.kongpy_peer = addr.ip
    ctx.kongpy_peer_port = addr.port
    if preserve_host then
        ctx.kongpy_preserve_host = true
    else
        if service.scheme == "https" then
            var.upstream_host = addr.host_https
            var.upstream_ssl_name = addr.sni
        else
            var.upstream_host = addr.host_http
        end
    end
    return true
end

-- Prepares ctx for the balancer phase; returns nil, status, message on failure.
-- ctx.kongpy_balancer holds what kong.service.set_target/set_retries/
-- set_timeouts changed for this request (nil on the usual path).
function _M.prepare(ctx, service, preserve_host, ups)
    local host, ip = service.host, service.ip
    local over = ctx.kongpy_balancer
    if over and over.host then
        host = over.host
        ip = literal_ip(host)
    end
    if ip then
        ctx.kongpy_peer = ip
        return true
    end
    local up = ups and upstreams.get(ups, host)
    if up then
        return balance(ctx, service, up, preserve_host)
    end
    local span = instrumentation.dns_query and instrumentation.dns_start()
    local rec, err = dns.resolve(host)
    if span then
        instrumentation.dns_end(span, host, service.port, rec, err)
    end
    if not rec then
        return nil, 503, err
    end
    local addrs = rec.addrs
    local n = #addrs
    if n == 1 then
        ctx.kongpy_peer = addrs[1]
    else
        rec.rr = rec.rr % n + 1
        ctx.kongpy_peer = addrs[rec.rr]
        ctx.kongpy_addrs = addrs
        ctx.kongpy_rr = rec.rr
    end
    return true
end

-- A retry: the previous try's failure goes to the health checks (as Kong: a
-- 504 is a timeout, another failure a TCP failure, "next" an HTTP status),
-- then the balancer picks a peer this request has not failed on.
local function retry(ctx, state, code)
    local up, prev = ctx.kongpy_upstream, ctx.kongpy_addr
    if up.passive then
        if state ~= "failed" then
            health.report_http_status(up, prev.ip, prev.port, code)
        elseif code == 504 then
            health.report_timeout(up, prev.ip, prev.port)
        else
            health.report_tcp_failure(up, prev.ip, prev.port)
        end
    end
    local b = ctx.kongpy_lb
    if b.release then
        b:release(ctx, prev)
    end
    local tried = ctx.kongpy_tried
    if not tried then
        tried = {}
        ctx.kongpy_tried = tried
    end
    tried[prev] = true
    local addr = b:get_peer(ctx, ctx.kongpy_hash, tried)
    if not addr then
        -- nothing else to try: the same peer again rather than no answer
        addr = prev
    end
    ctx.kongpy_addr = addr
    if addr ~= prev and addr.host_http ~= prev.host_http and not ctx.kongpy_preserve_host then
        var.upstream_host = ctx.kongpy_service.scheme == "https" and addr.host_https
                            or addr.host_http
        recreate_request()
    end
    return addr.ip, addr.port
end

-- Kong's record of a try for the log object. Its start is a clock reading
-- until the peer is set; the try's table is made then, whole (a table grown
-- field by field is resized twice). A failed try before it gets its state
-- and code.
local function start_try(ctx, state, code)
    if state then
        local tries = ctx.kongpy_tries
        local prev = tries and tries[#tries]
        if prev then
            prev.state, prev.code = state, code
        end
    end
    return time_ns()
end

local function add_try(ctx, try)
    local tries = ctx.kongpy_tries
    if tries then
        tries[#tries + 1] = try
    else
        ctx.kongpy_tries = { try }
    end
end

local function end_try(ctx, start_ns, ip, port)
    local ns = time_ns()
    local start = floor(start_ns / 1e6)
    local t = floor(ns / 1e6)
    -- state and code: room for a failure the next try reports
    add_try(ctx, { balancer_start = start, balancer_start_ns = start_ns, ip = ip, port = port,
                   balancer_latency = t - start, balancer_latency_ns = ns - start_ns,
                   state = nil, code = nil })
    ctx.kongpy_balancer_end = t
end

function _M.execute()
    local ctx = ngx.ctx
    local service = ctx.kongpy_service
    if not service then
        return ngx.exit(500)
    end
    local peer = ctx.kongpy_peer
    local port = ctx.kongpy_peer_port or service.port
    local over = ctx.kongpy_balancer
    local state, code = get_last_failure()
    -- the tries are recorded for the log object, the balancer spans, or a
    -- plugin that asked (zipkin, kong.observability.tracing.tracing_context)
    local try = (ctx.kongpy_logging or instrumentation.balancer
                 or instrumentation.tries_wanted and ctx.kongpy_tries_wanted)
                and start_try(ctx, state, code)
    if over then
        if not ctx.kongpy_peer_port then
            port = over.port or port
        end
        if not state then
            local retries = over.retries or service.retries
            if retries > 0 then
                set_more_tries(retries)
            end
            set_timeouts(over.connect_timeout or service.connect_timeout,
                         over.write_timeout or service.write_timeout,
                         over.read_timeout or service.read_timeout)
        end
    elseif not state then
        if service.retries > 0 then
            set_more_tries(service.retries)
        end
        set_timeouts(service.connect_timeout, service.write_timeout, service.read_timeout)
    end
    if state then
        if ctx.kongpy_upstream then
            peer, port = retry(ctx, state, code)
        else
            local addrs = ctx.kongpy_addrs
            if addrs then
                local i = ctx.kongpy_rr % #addrs + 1
                ctx.kongpy_rr = i
                peer = addrs[i]
            end
        end
    end
    local ok, err = set_current_peer(peer, port)
    if not ok then
        log(ERR, "failed to set the current peer ", peer, ":", port, ": ", err)
        if try then
            add_try(ctx, { balancer_start = floor(try / 1e6), balancer_start_ns = try })
        end
        return ngx.exit(500)
    end
    if try then
        end_try(ctx, try, peer, port)
    end
end

-- Log phase of a request balanced over an upstream: Kong reports the final
-- status (504 as a timeout) and lets the balancer update its figures.
function _M.log(ctx)
    local up, addr = ctx.kongpy_upstream, ctx.kongpy_addr
    if up.passive then
        local status = ngx.status
        if status == 504 then
            health.report_timeout(up, addr.ip, addr.port)
        else
            health.report_http_status(up, addr.ip, addr.port, status)
        end
    end
    ctx.kongpy_lb:after_balance(ctx, addr)
end

return _M
