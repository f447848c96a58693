-- Peer selection: the access phase resolves the service host (cosockets are
-- not available in the balancer phase); the balancer phase picks the peer,
-- round-robin across the resolved addresses, per try.
local ngx_balancer = require("ngx.balancer")
local dns = require("kongpy.dns")

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

local _M = {}

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
    local port = service.port
    local over = ctx.kongpy_balancer
    local state = get_last_failure()
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
    if state then
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
