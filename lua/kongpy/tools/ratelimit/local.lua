-- The `local` policy: counters in the kongpy_ratelimit shared dict. Every
-- worker of the node increments the same counters (shm incr is atomic), so
-- the limit is exact within one node and per node across a cluster.
local counting = require("kongpy.tools.ratelimit.counting")

local ngx = ngx
local shared = ngx.shared

local ERR_NO_DICT = "no lua_shared_dict kongpy_ratelimit"

local _M = {}

local function dict()
    local d = shared.kongpy_ratelimit
    if not d then
        return nil, ERR_NO_DICT
    end
    return d
end

-- Increment first, then compare: a request that passes a limit takes its
-- increments back. Two racing requests can therefore both be refused when
-- only one of them should be (one window refuses, another still counted it
-- for a moment); never can both be let through past a limit.
local function add(d, _, e, n)
    return d:incr(e.key, n, 0, e.ttl)
end

local function undo(d, _, e, n)
    d:incr(e.key, -n)
end

function _M.consume(_, _, entries, n)
    local d, err = dict()
    if not d then
        return nil, nil, err
    end
    return counting.consume(entries, n, add, undo, d)
end

function _M.usage(_, _, entries)
    local d, err = dict()
    if not d then
        return nil, err
    end
    local counts = {}
    for i = 1, #entries do
        counts[i] = d:get(entries[i].key) or 0
    end
    return counts
end

function _M.increment(_, _, entries, n)
    local d, err = dict()
    if not d then
        return nil, err
    end
    return counting.increment(entries, n, add, d)
end

return _M
