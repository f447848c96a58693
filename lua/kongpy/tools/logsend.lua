-- Delivery for the loggers that send one entry at a time (tcp-log, udp-log,
-- syslog). The log phase only appends the entry to a bounded per-worker list
-- for its destination and, when no drain is running, starts one timer (no
-- cosockets in the log phase); the timer sends every entry in order, so a
-- burst costs one timer, not one per request. A full list drops the entry
-- and counts it. Failures are written to the error log at most once per
-- REPORT_INTERVAL per destination, with the number of failures left unsaid,
-- so an unreachable receiver costs neither the request nor the log.
-- A drain started when the worker is exiting still sends (graceful stop).
local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local now = ngx.now
local timer_at = ngx.timer.at
local update_time = ngx.update_time

local pcall = pcall
local concat = table.concat

-- entries waiting per destination and worker
local MAX_PENDING = 10000
local REPORT_INTERVAL = 10
local ERR_FULL = "log entries pending, dropping the new one"

local _M = { MAX_PENDING = MAX_PENDING, REPORT_INTERVAL = REPORT_INTERVAL }

-- key -> { last = time of the last line written, hidden = failures since }
local reports = {}

-- Writes "[<plugin>] <message>" unless this key had a line less than
-- REPORT_INTERVAL ago; the next line written says how many were skipped.
function _M.report(plugin, key, ...)
    local r = reports[key]
    if not r then
        r = { last = -REPORT_INTERVAL, hidden = 0 }
        reports[key] = r
    end
    local t = now()
    if t - r.last < REPORT_INTERVAL then
        r.hidden = r.hidden + 1
        return false
    end
    local hidden = r.hidden
    r.last, r.hidden = t, 0
    local msg = concat({ ... })
    if hidden > 0 then
        msg = msg .. " (" .. hidden .. " similar errors in the last "
              .. REPORT_INTERVAL .. "s not logged)"
    end
    log(ERR, "[", plugin, "] ", msg)
    return true
end

local queues = {}

local function drain(_, q)
    -- runs even when premature: a worker that stops gracefully waits for it
    local items, confs = q.items, q.confs
    while q.head <= q.tail do
        local i = q.head
        local item, conf = items[i], confs[i]
        items[i], confs[i] = nil, nil
        q.head = i + 1
        -- a Lua error must not leave the list marked as being drained
        local pok, ok, err = pcall(q.send, conf, item)
        if not pok or not ok then
            _M.report(q.plugin, q.key, pok and err or ok)
        end
        update_time()
    end
    q.head, q.tail = 1, 0
    q.running = false
end

-- Queues `item` for send(conf, item) -> true | nil, err, run from a timer in
-- order. `key` names the destination (one list per key and worker).
function _M.enqueue(plugin, key, send, conf, item)
    local q = queues[key]
    if not q then
        q = { items = {}, confs = {}, head = 1, tail = 0, running = false,
              plugin = plugin, key = key, send = send }
        queues[key] = q
    end
    if q.tail - q.head + 1 >= MAX_PENDING then
        _M.report(plugin, key, MAX_PENDING, " ", ERR_FULL, " for ", key)
        return nil, ERR_FULL
    end
    local tail = q.tail + 1
    q.items[tail], q.confs[tail] = item, conf
    q.tail = tail
    if not q.running then
        local ok, err = timer_at(0, drain, q)
        if not ok then
            q.items[tail], q.confs[tail] = nil, nil
            q.tail = tail - 1
            _M.report(plugin, key, "failed to create timer: ", err)
            return nil, err
        end
        q.running = true
    end
    return true
end

return _M
