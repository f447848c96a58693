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

local _M = {}

-- Prepares ctx for the balancer phase; returns nil, status, message on failure.
function _M.prepare(ctx, service)
    if service.ip then
        ctx.kongpy_peer = service.ip
        return true
    end
    local rec, err = dns.resolve(service.host)
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
    local state = get_last_failure()
    if not state then
        if service.retries > 0 then
            set_more_tries(service.retries)
        end
        set_timeouts(service.connect_timeout, service.write_timeout, service.read_timeout)
    else
        local addrs = ctx.kongpy_addrs
        if addrs then
            local i = ctx.kongpy_rr % #addrs + 1
            ctx.kongpy_rr = i
            peer = addrs[i]
        end
    end
    local ok, err = set_current_peer(peer, service.port)
    if not ok then
        log(ERR, "failed to set the current peer ", peer, ":", service.port, ": ", err)
        return ngx.exit(500)
    end
end

return _M
