-- kong.nginx: facts about the nginx process serving the request.
local ffi = require("ffi")
local ssl = require("ngx.ssl")
local phase = require("kongpy.pdk.phase")

local ngx = ngx
local C = ffi.C
local check = phase.check

local tonumber = tonumber

-- stub_status' counters, which nginx exports (the control socket's /status
-- reads the same through a subrequest, which plugin phases cannot make)
ffi.cdef [[
    extern unsigned long *ngx_stat_accepted;
    extern unsigned long *ngx_stat_handled;
    extern unsigned long *ngx_stat_requests;
    extern unsigned long *ngx_stat_active;
    extern unsigned long *ngx_stat_reading;
    extern unsigned long *ngx_stat_writing;
    extern unsigned long *ngx_stat_waiting;
]]

local WITH_CTX = phase.new("rewrite", "access", "balancer", "header_filter", "response",
                           "body_filter", "log", "preread")

local _M = {}

function _M.get_subsystem()
    return ngx.config.subsystem
end

function _M.get_statistics()
    return {
        connections_active = tonumber(C.ngx_stat_active[0]),
        connections_reading = tonumber(C.ngx_stat_reading[0]),
        connections_writing = tonumber(C.ngx_stat_writing[0]),
        connections_waiting = tonumber(C.ngx_stat_waiting[0]),
        connections_accepted = tonumber(C.ngx_stat_accepted[0]),
        connections_handled = tonumber(C.ngx_stat_handled[0]),
        total_requests = tonumber(C.ngx_stat_requests[0]),
    }
end

function _M.get_tls1_version_str()
    return ssl.get_tls1_version_str()
end

-- The request's ngx.ctx, by key.
function _M.get_ctx(key)
    check("kong.nginx.get_ctx", WITH_CTX)
    return ngx.ctx[key]
end

function _M.set_ctx(key, value)
    check("kong.nginx.set_ctx", WITH_CTX)
    ngx.ctx[key] = value
end

function _M.req_start_time()
    return ngx.req.start_time()
end

return _M
