-- Peer selection: the access phase resolves the service host (cosockets are
-- not available in the balancer phase); the balancer phase picks the peer,
-- round-robin across the resolved addresses, per try. A service host naming
-- an upstream is balanced round-robin over its available addresses (weight
-- above 0 and healthy), reporting each failed try to the health checks.
local ngx_balancer = require("ngx.balancer")
local dns = require("kongpy.dns")
local upstreams = require("kongpy.upstreams")
local health = require("kongpy.health")
local health_settings = require("kongpy.health.settings")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local set_current_peer = ngx_balancer.set_current_peer
local set_more_tries = ngx_balancer.set_more_tries
local set_timeouts = ngx_balancer.set_timeouts
local get_last_failure = ngx_balancer.get_last_failure

local byte = string.byte
local find = string.find
local match = string.match
local sub = string.sub

local LBRACKET = byte("[")
local ERR_NO_PEER = "failure to get a peer from the ring-balancer"

local _M = {}

local wheel = {}   -- upstream id -> last position

-- The next available address of `row` not in `tried` (nil: none).
local function next_peer(row, addrs, tried)
    local n = #addrs
    local uid = row.id
    local pos = wheel[uid] or 0
    for i = 1, n do
        local idx = (pos + i - 1) % n + 1
        local a = addrs[idx]
        if a.weight > 0 and not (tried and tried[a])
                and health.is_healthy(uid, a.ip, a.port) then
            wheel[uid] = idx
            return a
        end
    end
end

-- Kong's balancer health: the available weight share above the threshold.
local function above_threshold(row, addrs, threshold)
    local total, available = 0, 0
    for i = 1, #addrs do
        local a = addrs[i]
        total = total + a.weight
        if a.weight > 0 and health.is_healthy(row.id, a.ip, a.port) then
            available = available + a.weight
        end
    end
    return total > 0 and available * 100 / total > threshold
end

local function prepare_upstream(ctx, row, addrs)
    local threshold = health_settings.of(row).threshold
    local a = next_peer(row, addrs)
    if not a or (threshold > 0 and not above_threshold(row, addrs, threshold)) then
        return nil, 503, ERR_NO_PEER
    end
    ctx.kongpy_upstream = row
    ctx.kongpy_up_addrs = addrs
    ctx.kongpy_up_peer = a
    ctx.kongpy_peer = a.ip
    ctx.kongpy_peer_port = a.port
    return true
end

-- A retry: the previous try's failure goes to the health checks (Kong:
-- a failed connection or timeout, else the status that made nginx retry).
local function retry_upstream(ctx, state, code)
    local row, prev = ctx.kongpy_upstream, ctx.kongpy_up_peer
    if state == "failed" then
        if code == 504 then
            health.report_timeout(row, prev.ip, prev.port)
        else
            health.report_tcp_failure(row, prev.ip, prev.port)
        end
    else
        health.report_http_status(row, prev.ip, prev.port, code)
    end
    local tried = ctx.kongpy_up_tried or {}
    tried[prev] = true
    ctx.kongpy_up_tried = tried
    local a = next_peer(row, ctx.kongpy_up_addrs, tried) or
              next_peer(row, ctx.kongpy_up_addrs)
    if a then
        ctx.kongpy_up_peer = a
        ctx.kongpy_peer = a.ip
        ctx.kongpy_peer_port = a.port
    end
end

-- The answer of the last try, for the passive checks (header filter).
function _M.report_status(ctx, status)
    local a = ctx.kongpy_up_peer
    if a then
        health.report_http_status(ctx.kongpy_upstream, a.ip, a.port, status)
    end
end

local function literal_ip(host)
    if find(host, ":", 1, true) then
        return byte(host) == LBRACKET and sub(host, 2, -2) or host
    end
    if match(host, "^%d+%.%d+%.%d+%.%d+$") then
        return host
    end
end

-- Prepares ctx for the balancer phase; returns nil, status, message on failure.
-- ctx.kongpy_balancer holds what kong.service.set_target/set_retries/
-- set_timeouts changed for this request (nil on the usual path).
function _M.prepare(ctx, service)
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
    local row, up_addrs = upstreams.by_name(host)
    if row then
        return prepare_upstream(ctx, row, up_addrs)
    end
    local rec, err = dns.resolve(host)
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
    if over then
        port = over.port or port
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
    if state and ctx.kongpy_upstream then
        retry_upstream(ctx, state, code)
        peer, port = ctx.kongpy_peer, ctx.kongpy_peer_port
    elseif state then
        local addrs = ctx.kongpy_addrs
        if addrs then
            local i = ctx.kongpy_rr % #addrs + 1
            ctx.kongpy_rr = i
            peer = addrs[i]
        end
    end
    local ok, err = set_current_peer(peer, port)
    if not ok then
        log(ERR, "failed to set the current peer ", peer, ":", port, ": ", err)
        return ngx.exit(500)
    end
end

return _M
