-- The `cluster` policy: counters kept in the datastore, as Kong's are, but
-- the data plane never opens the datastore (the control plane owns it). Each
-- node counts in its shared dict: `base` (the datastore total at the last
-- sync) plus `delta` (what this node counted since). Once a second one worker
-- sends the deltas of every touched counter to the node's Admin API
-- (POST /_kongpy/ratelimiting-metrics), which adds them with one atomic
-- upsert each and answers the new totals; they become the new bases.
--
-- Known cost and inexactness (docs/rate-limiting.md): a node learns of other
-- nodes' requests only at its next sync, so N nodes can let through up to
-- about (N - 1) x (one second of traffic) more than the limit. Within one node
-- the check is exact, as with `local`.
local cjson = require("cjson.safe")
local settings = require("kongpy.settings")

local ngx = ngx
local shared = ngx.shared
local var = ngx.var
local log = ngx.log
local ERR = ngx.ERR
local tcp = ngx.socket.tcp
local timer_every = ngx.timer.every

local tonumber = tonumber
local tostring = tostring
local pairs = pairs
local find = string.find
local sub = string.sub
local match = string.match
local concat = table.concat

local SYNC_INTERVAL = 1
local HTTP_TIMEOUT_MS = 2000
local MAX_BATCH = 2000
local SYNC_PATH = "/_kongpy/ratelimiting-metrics"
local ERR_NO_DICT = "no lua_shared_dict kongpy_ratelimit"
local ERR_NO_ADMIN = "cluster policy: the node has no Admin API listener to sync through"
local TABLES = { ratelimit = "ratelimiting_metrics",
                 ["response-ratelimit"] = "response_ratelimiting_metrics" }

local _M = {}

local started = false

local function dict()
    return shared.kongpy_ratelimit
end

-- An HTTP/1.1 POST with Connection: close; returns the decoded JSON body.
local function post(address, body)
    local host, port = match(address, "^(.+):(%d+)$")
    if not host then
        return nil, ERR_NO_ADMIN
    end
    local sock = tcp()
    sock:settimeout(HTTP_TIMEOUT_MS)
    local ok, err = sock:connect(host, tonumber(port))
    if not ok then
        return nil, "cannot reach the Admin API at " .. address .. ": " .. tostring(err)
    end
    -- The node's own credential: needed when the Admin API wants tokens.
    local secret = settings.node_secret
    ok, err = sock:send(concat({
        "POST ", SYNC_PATH, " HTTP/1.1\r\nHost: ", address,
        secret and "\r\nKong-Admin-Token: " .. secret or "",
        "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ",
        #body, "\r\n\r\n", body }))
    if not ok then
        sock:close()
        return nil, err
    end
    local raw
    raw, err = sock:receive("*a")
    sock:close()
    if not raw then
        return nil, err
    end
    local status = tonumber(match(raw, "^HTTP/%d%.%d (%d+)"))
    local at = find(raw, "\r\n\r\n", 1, true)
    if status ~= 200 or not at then
        return nil, "Admin API answered " .. tostring(status)
    end
    local res = cjson.decode(sub(raw, at + 4))
    if not res or not res.values then
        return nil, "invalid answer from the Admin API"
    end
    return res
end

-- Moves the pending deltas of one batch into `base` before sending them, so
-- the node's totals never drop while a sync is in flight (they may briefly
-- count a delta twice: the safe direction).
local function take(d, batch)
    local out = {}
    for key, rec in pairs(batch) do
        local delta = d:get("cl:d:" .. key) or 0
        if delta > 0 then
            d:incr("cl:d:" .. key, -delta)
        end
        d:incr("cl:b:" .. key, delta, 0, rec.ttl)
        rec.value = delta
        out[#out + 1] = rec
    end
    return out
end

local function give_back(d, recs)
    for _, rec in pairs(recs) do
        if rec.value > 0 then
            d:incr("cl:b:" .. rec.key, -rec.value, 0, rec.ttl)
            d:incr("cl:d:" .. rec.key, rec.value, 0, rec.ttl)
        end
        d:lpush("cl:q", cjson.encode(rec))
    end
end

local function sync_table(d, address, tbl, recs)
    local rows = {}
    for i, rec in pairs(recs) do
        rows[i] = { identifier = rec.identifier, period = rec.period,
                    period_date = rec.period_date, route_id = rec.route_id,
                    service_id = rec.service_id, value = rec.value, ttl = rec.ttl }
    end
    local res, err = post(address, cjson.encode({ table = tbl, increments = rows }))
    if not res then
        give_back(d, recs)
        return nil, err
    end
    for i, rec in pairs(recs) do
        local total = tonumber(res.values[i])
        if total then
            d:set("cl:b:" .. rec.key, total, rec.ttl)
        end
    end
    return true
end

local function flush(premature)
    local d = dict()
    if premature or not d or not d:add("cl:lock", true, 30) then
        return
    end
    local by_table = {}
    for _ = 1, MAX_BATCH do
        local item = d:rpop("cl:q")
        if not item then
            break
        end
        local rec = cjson.decode(item)
        if rec then
            by_table[rec.table] = by_table[rec.table] or {}
            by_table[rec.table][rec.key] = rec
        end
    end
    local address = d:get("cl:admin")
    for tbl, batch in pairs(by_table) do
        local recs = take(d, batch)
        local ok, err = sync_table(d, address or "", tbl, recs)
        if ok then
            d:delete("cl:down")
        else
            d:set("cl:down", tostring(err), SYNC_INTERVAL * 3)
            log(ERR, "[rate-limiting] cluster policy sync failed: ", err)
        end
    end
    d:delete("cl:lock")
end

-- While syncs fail, a fault-tolerant instance keeps counting on this node
-- alone; any other instance reports the outage (the handler answers 500).
local function prepare(d, conf)
    if not started then
        started = true
        local address = var.kongpy_admin_address
        if address and address ~= "" then
            d:set("cl:admin", address)
        end
        timer_every(SYNC_INTERVAL, flush)
    end
    local down = not conf.fault_tolerant and d:get("cl:down")
    if down then
        return nil, down
    end
    return true
end

local function touch(d, ns, e, n)
    local new, err = d:incr("cl:d:" .. e.key, n, 0, e.ttl)
    if not new then
        return nil, err
    end
    if new == n then
        d:lpush("cl:q", cjson.encode({
            table = TABLES[ns], key = e.key, identifier = e.identifier, period = e.period,
            period_date = e.period_date * 1000, route_id = e.route_id,
            service_id = e.service_id, ttl = e.ttl }))
    end
    return new + (d:get("cl:b:" .. e.key) or 0)
end

function _M.consume(ns, conf, entries, n)
    local d = dict()
    if not d then
        return nil, nil, ERR_NO_DICT
    end
    local ok, err = prepare(d, conf)
    if not ok then
        return nil, nil, err
    end
    local counts, stop, done = {}, nil, 0
    for i = 1, #entries do
        local total
        total, err = touch(d, ns, entries[i], n)
        if not total then
            break
        end
        done = i
        counts[i] = total - n
        if not stop and total > entries[i].limit then
            stop = i
        end
    end
    if stop or err then
        for i = 1, done do
            d:incr("cl:d:" .. entries[i].key, -n)
        end
        if err then
            return nil, nil, err
        end
    end
    return counts, stop
end

function _M.usage(_, conf, entries)
    local d = dict()
    if not d then
        return nil, ERR_NO_DICT
    end
    local ok, err = prepare(d, conf)
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
    for i = 1, #entries do
        local ok, err = touch(d, ns, entries[i], n)
        if not ok then
            return nil, err
        end
    end
    return true
end

return _M
