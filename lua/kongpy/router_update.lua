-- A router changed by a few routes, without building it again: the virtual
-- routes of the changed routes leave, those of their new rows are merged into
-- the priority order, and only the index lists they reach are copied
-- (kongpy.router_index.update). The router it starts from is left untouched:
-- it serves until the new configuration is committed.
--
-- Matching is what a full build gives: the merge keeps the order of
-- kongpy.router_build's comparator, and a new virtual route is ranked between
-- its neighbours. The flags that shape the cache key (ports, headers, snis,
-- what expressions read) only grow: a key that names more than needed
-- still leads to the same result. The traditional flavour is rebuilt.
local build = require("kongpy.router_build")
local router_index = require("kongpy.router_index")

local ipairs = ipairs
local sort = table.sort

local _M = {}

-- routes changed by one delta above which a full build is cheaper
_M.MAX_ROUTES = 64

-- a shallow copy (LuaJIT's table.clone: no metatable)
local copy = require("table.clone")

-- Gives the new virtual routes of `out` ranks between their neighbours';
-- false when no number fits between two ranks (a full build renumbers).
local function rank_new(out, new)
    local n = #out
    local i = 1
    while i <= n do
        if new[out[i]] then
            local j = i
            while j + 1 <= n and new[out[j + 1]] do
                j = j + 1
            end
            local lo = i > 1 and out[i - 1].rank
            local hi = j < n and out[j + 1].rank
            lo = lo or (hi or 0) - (j - i + 2)
            hi = hi or lo + (j - i + 2)
            local step = (hi - lo) / (j - i + 2)
            local prev = lo
            for k = i, j do
                local r = lo + step * (k - i + 1)
                if not (r > prev and r < hi) then
                    return false
                end
                out[k].rank, prev = r, r
            end
            i = j + 1
        else
            i = i + 1
        end
    end
    return true
end

-- The router `rt` with `upserts` (route rows) and `deletes` (route ids)
-- applied; services and their state are those `rt` was built with. nil when
-- the change is not one to apply this way (the caller builds the router
-- again), nil, err for a route the router refuses.
function _M.update(rt, upserts, deletes, services_by_id, disabled)
    local stats = rt.stats
    if not stats or #upserts + #deletes > _M.MAX_ROUTES then
        return nil
    end
    local ids = {}
    for _, id in ipairs(deletes) do
        ids[id] = true
    end
    local nstats = copy(stats)
    nstats.header_names, nstats.expr_headers = copy(stats.header_names),
                                               copy(stats.expr_headers)
    local added = {}
    for _, route in ipairs(upserts) do
        ids[route.id] = true
        local err = build.add(added, route, services_by_id, disabled, nil, nstats)
        if err then
            return nil, err
        end
    end
    sort(added, build.before)
    local old, out, gone, new = rt.vroutes, {}, {}, {}
    local i, j, n = 1, 1, 0
    while old[i] or added[j] do
        local a, b = old[i], added[j]
        if a and ids[a.entry.id] then
            gone[a] = true
            i = i + 1
        else
            n = n + 1
            if b and (not a or build.before(b, a)) then
                out[n], new[b] = b, true
                j = j + 1
            else
                out[n] = a
                i = i + 1
            end
        end
    end
    if not rank_new(out, new) then
        return nil
    end
    local index = router_index.update(rt.index, gone, added)
    return build.fields({ vroutes = out, index = index }, nstats, rt.flavor)
end

return _M
