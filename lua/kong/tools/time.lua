-- kong.tools.time: Kong 3.9's time helpers; time_ns() is the wall clock in
-- nanoseconds (the log object's balancer_start_ns, tracing spans), read
-- through clock_gettime because ngx.now() stops at milliseconds.
local ffi = require("ffi")

local ngx = ngx
local now = ngx.now
local update_time = ngx.update_time
local req_start_time = ngx.req.start_time
local C = ffi.C
local tonumber = tonumber
local pcall = pcall
local floor = math.floor

ffi.cdef("typedef struct kongpy_timespec { long tv_sec; long tv_nsec; } kongpy_timespec;")
-- another module may have declared clock_gettime already (with its own
-- struct type): the call passes a void pointer, which converts to either
pcall(ffi.cdef, "int clock_gettime(int clk_id, void *tp);")

local CLOCK_REALTIME = 0
local ts = ffi.new("kongpy_timespec[1]")
local ts_ptr = ffi.cast("void *", ts)

local _M = {}

function _M.time_ns()
    C.clock_gettime(CLOCK_REALTIME, ts_ptr)
    local t = ts[0]
    return tonumber(t.tv_sec) * 1e9 + tonumber(t.tv_nsec)
end

-- The wall clock in whole milliseconds, read at the call: what
-- `update_time(); now() * 1000` gives, without refreshing nginx's cached
-- time, which formats five time strings on each refresh (several of them a
-- request on the request path). Same clock as nginx's (CLOCK_REALTIME) and
-- truncated to the millisecond as nginx's, so a later ngx.now() is never
-- below it.
function _M.now_ms()
    C.clock_gettime(CLOCK_REALTIME, ts_ptr)
    local t = ts[0]
    local ms = tonumber(t.tv_sec) * 1000 + floor(tonumber(t.tv_nsec) / 1e6)
    return ms
end

function _M.get_now_ms()
    return now() * 1000
end

function _M.get_updated_now_ms()
    update_time()
    return now() * 1000
end

function _M.get_start_time_ms()
    return req_start_time() * 1000
end

return _M
