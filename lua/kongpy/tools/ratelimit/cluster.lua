-- The `cluster` policy: counters kept in the datastore, as Kong's are, but
-- the data plane never opens the datastore (the control plane owns it). Each
-- node counts in its shared dict: `base` (the datastore total at the last
-- sync) plus `delta` (what this node counted since). The node's sync loop
-- takes the touched counters over the private control socket (POST /counters:
-- their deltas move into `base`), adds them in the datastore with one atomic
-- upsert each, and hands the new totals back (POST /counters/totals), which
-- become the new bases. Data flows one way: the control plane asks, the data
-- plane answers.
--
-- Known cost and inexactness (docs/rate-limiting.md): a node learns of other
-- nodes' requests only at its next sync, so N nodes can let through up to
-- about (N - 1) x (one sync period of traffic) more than the limit. Within
-- one node the check is exact, as with `local`.
local cjson = require("cjson.safe")
local counting = require("kongpy.tools.ratelimit.counting")

local ngx = ngx
local shared = ngx.shared
local now = ngx.now

local tonumber = tonumber
local type = type
local ipairs = ipairs
local concat = table.concat

local QUEUE = "cl:q"
-- when the oldest increment not yet in the datastore was counted
local SINCE = "cl:since"
-- the control plane's last word when it could not store a batch
local DOWN = "cl:down"
-- increments older than this mean the control plane is not syncing: instances
-- that are not fault tolerant stop counting on their own
local STALE_AFTER = 3
local MAX_BATCH = 2000
local ERR_NO_DICT = "no lua_shared_dict kongpy_ratelimit"
local ERR_STALE = "cluster policy: counters have not reached the datastore for "
local TABLES = { ratelimit = "ratelimiting_metrics",
                 ["response-ratelimit"] = "response_ratelimiting_metrics" }

local _M = { MAX_BATCH = MAX_BATCH }

local function dict()
    return shared.kongpy_ratelimit
end

-- Kong reads the datastore on every request: while it fails, a fault-tolerant
-- instance lets requests through uncounted and without headers, a strict one
-- answers 500. The last sync's failure stands for that read here.
local function check(d, conf)
    local down = d:get(DOWN)
    if down then
        return nil, down
    end
    if conf.fault_tolerant then
        return true
    end
    local since = d:get(SINCE)
    if since and now() - since > STALE_AFTER then
        return nil, ERR_STALE .. STALE_AFTER .. "s"
    end
    return true
end

local function touch(d, ns, e, n)
    local new, err = d:incr("cl:d:" .. e.key, n, 0, e.ttl)
    if not new then
        return nil, err
    end
    if new == n then
        d:add(SINCE, now())
        d:lpush(QUEUE, cjson.encode({
            table = TABLES[ns], key = e.key, identifier = e.identifier, period = e.period,
            period_date = e.period_date * 1000, route_id = e.route_id,
            service_id = e.service_id, ttl = e.ttl }))
    end
    return new + (d:get("cl:b:" .. e.key) or 0)
end

local function undo(d, _, e, n)
    d:incr("cl:d:" .. e.key, -n)
end

function _M.consume(ns, conf, entries, n)
    local d = dict()
    if not d then
        return nil, nil, ERR_NO_DICT
    end
    local ok, err = check(d, conf)
    if not ok then
        return nil, nil, err
    end
    return counting.consume(entries, n, touch, undo, d, ns)
end

function _M.usage(_, conf, entries)
    local d = dict()
    if not d then
        return nil, ERR_NO_DICT
    end
    local ok, err = check(d, conf)
    if not ok then
        return nil, err
    end
    local counts = {}
    for i = 1, #entries do
        local key = entries[i].key
        counts[i] = (d:get("cl:b:" .. key) or 0) + (d:get("cl:d:" .. key) or 0)
    end
    return counts
end

function _M.increment(ns, _, entries, n)
    local d = dict()
    if not d then
        return nil, ERR_NO_DICT
    end
    return counting.increment(entries, n, touch, d, ns)
end

-- The control socket's side (kongpy.control).

function _M.queued()
    local d = dict()
    return d and d:llen(QUEUE) or 0
end

-- POST /counters: up to MAX_BATCH touched counters, each with the delta this
-- node counted since the last sync; the deltas move into `base` at once, so
-- the node's totals never drop while the batch is in flight (a counter may
-- briefly count a delta twice: the safe direction). Returns a JSON array.
function _M.take()
    local d = dict()
    local out, seen = {}, {}
    for _ = 1, d and MAX_BATCH or 0 do
        local item = d:rpop(QUEUE)
        if not item then
            break
        end
        local rec = cjson.decode(item)
        if rec and not seen[rec.key] then
            seen[rec.key] = true
            local delta = d:get("cl:d:" .. rec.key) or 0
            -- negative when response-ratelimiting's upstream gave usage back
            if delta ~= 0 then
                d:incr("cl:d:" .. rec.key, -delta)
            end
            d:incr("cl:b:" .. rec.key, delta, 0, rec.ttl)
            rec.value = delta
            out[#out + 1] = cjson.encode(rec)
        end
    end
    return "[" .. concat(out, ",") .. "]"
end

-- POST /counters/totals: {"totals": [{key, value, ttl}], "returned": [records
-- of /counters], "error": message or absent}. Totals become the new bases;
-- returned records (not stored) go back to `delta` and to the queue.
function _M.settle(doc)
    local d = dict()
    if not d or type(doc) ~= "table" then
        return nil, "expected an object"
    end
    for _, t in ipairs(type(doc.totals) == "table" and doc.totals or {}) do
        local total = tonumber(t.value)
        if type(t.key) == "string" and total then
            d:set("cl:b:" .. t.key, total, tonumber(t.ttl) or 0)
        end
    end
    local returned = type(doc.returned) == "table" and doc.returned or {}
    for _, rec in ipairs(returned) do
        local value = tonumber(rec.value) or 0
        if type(rec.key) == "string" and value > 0 then
            d:incr("cl:b:" .. rec.key, -value, 0, rec.ttl)
            d:incr("cl:d:" .. rec.key, value, 0, rec.ttl)
        end
        d:lpush(QUEUE, cjson.encode(rec))
    end
    if type(doc.error) == "string" then
        d:set(DOWN, doc.error, STALE_AFTER)
    else
        d:delete(DOWN)
    end
    if #returned == 0 and d:llen(QUEUE) == 0 then
        d:delete(SINCE)
    elseif #returned == 0 then
        d:set(SINCE, now())
    end
    return true
end

return _M
