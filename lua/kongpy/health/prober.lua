-- Active health checks: one prober per node, in worker 0, holding a lock in
-- the kongpy_health dict so a worker 0 of the previous generation (still
-- finishing requests after a reload) or one being respawned never probes
-- beside it. Every address of an upstream with active checks is probed
-- every `healthy.interval` seconds while healthy and every
-- `unhealthy.interval` while unhealthy (0: not in that state), at most
-- `concurrency` at once per upstream, each probe bounded by `timeout`.
local state = require("kongpy.health.state")
local settings = require("kongpy.health.settings")
local snapshot = require("kongpy.snapshot")
local upstreams = require("kongpy.upstreams")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local DEBUG = ngx.DEBUG
local now = ngx.now
local update_time = ngx.update_time
local tcp = ngx.socket.tcp
local spawn = ngx.thread.spawn
local wait = ngx.thread.wait
local timer_at = ngx.timer.at
local timer_every = ngx.timer.every
local worker_id = ngx.worker.id
local worker_pid = ngx.worker.pid
local worker_exiting = ngx.worker.exiting

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local tonumber = tonumber
local pcall = pcall
local min = math.min
local match = string.match
local concat = table.concat

local TICK = 0.1
local LOCK = "prober"
local LOCK_TTL = 2
local PROBE_TYPES = { http = true, https = true, tcp = true }

local _M = {}

local EMPTY = {}
local due = {}    -- upstream id -> "ip:port" -> time of the next probe
local busy = {}   -- upstream id -> true while its round runs

local function headers_text(headers)
    if not headers then
        return ""
    end
    local out = {}
    for name, values in pairs(headers) do
        if type(values) == "table" then
            for _, v in ipairs(values) do
                out[#out + 1] = name .. ": " .. tostring(v) .. "\r\n"
            end
        else
            out[#out + 1] = name .. ": " .. tostring(values) .. "\r\n"
        end
    end
    return concat(out)
end

-- One probe: "ok", "tcp", "timeout", or an HTTP status (0: not HTTP).
local function probe(item, a)
    local sock = tcp()
    sock:settimeout(a.timeout * 1000)
    local ok, err = sock:connect(item.ip, item.port)
    if not ok then
        sock:close()
        return err == "timeout" and "timeout" or "tcp"
    end
    if a.type == "tcp" then
        sock:close()
        return "ok"
    end
    if a.type == "https" then
        ok, err = sock:sslhandshake(nil, a.https_sni or item.host, a.verify)
        if not ok then
            sock:close()
            log(ERR, "[healthchecks] TLS handshake with ", item.ip, ":", item.port, " failed: ",
                err)
            return err == "timeout" and "timeout" or "tcp"
        end
    end
    ok, err = sock:send("GET " .. a.http_path .. " HTTP/1.1\r\nConnection: close\r\n"
                        .. a.headers_text .. "Host: " .. item.host .. "\r\n\r\n")
    if not ok then
        sock:close()
        return err == "timeout" and "timeout" or "tcp"
    end
    local line
    line, err = sock:receive("*l")
    sock:close()
    if not line then
        return err == "timeout" and "timeout" or "tcp"
    end
    return tonumber(match(line, "^HTTP/%d+%.%d+%s+(%d+)")) or 0
end

local function record(uid, item, a, outcome)
    local ip, port = item.ip, item.port
    if outcome == "ok" then
        return state.count(uid, ip, port, "ok", a.successes)
    elseif outcome == "tcp" or outcome == "timeout" then
        return state.count(uid, ip, port, outcome, a[outcome])
    elseif a.ok_statuses[outcome] then
        return state.count(uid, ip, port, "ok", a.successes)
    elseif a.bad_statuses[outcome] or outcome == 0 then
        return state.count(uid, ip, port, "http", a.http)
    end
end

-- Slots are per address and state ("ip:port+" healthy, "ip:port-" not):
-- an address whose state flipped (by traffic or by hand) is due at once.
local function slot(ip, port, healthy)
    return ip .. ":" .. port .. (healthy and "+" or "-")
end

local function next_due(uid, item, a)
    local healthy = state.is_healthy(uid, item.ip, item.port)
    local interval = healthy and a.healthy_interval or a.unhealthy_interval
    local slots = due[uid]
    if slots and interval > 0 then
        update_time()
        slots[slot(item.ip, item.port, healthy)] = now() + interval
    end
end

local function round(premature, uid, items, a)
    if premature then
        busy[uid] = nil
        return
    end
    local i = 0
    local function worker()
        while true do
            i = i + 1
            local item = items[i]
            if not item then
                return
            end
            local ok, outcome = pcall(probe, item, a)
            if ok then
                log(DEBUG, "[healthchecks] probe of ", item.ip, ":", item.port, ": ", outcome)
                record(uid, item, a, outcome)
            else
                log(ERR, "[healthchecks] probe of ", item.ip, ":", item.port, " failed: ",
                    outcome)
            end
            next_due(uid, item, a)
        end
    end
    local threads = {}
    for t = 1, min(a.concurrency, #items) do
        threads[t] = spawn(worker)
    end
    for _, th in ipairs(threads) do
        wait(th)
    end
    busy[uid] = nil
end

local function target_host(row, target_id, ip)
    if type(row.host_header) == "string" then
        return row.host_header
    end
    local targets = (snapshot.state.entities or EMPTY).targets or EMPTY
    local t = targets[target_id]
    local host = t and type(t.target) == "string" and
                 (match(t.target, "^%[(.+)%]:%d+$") or match(t.target, "^(.+):%d+$"))
    return host or ip
end

local function schedule(row, c, t)
    local uid = row.id
    local a = c.active
    local slots = due[uid]
    if not slots then
        slots = {}
        due[uid] = slots
    end
    local items = {}
    for address, target in upstreams.each_address(uid) do
        local ip, port = address.ip, address.port
        if (address.weight or 0) > 0 then
            local healthy = state.is_healthy(uid, ip, port)
            local interval = healthy and a.healthy_interval or a.unhealthy_interval
            local at = slots[slot(ip, port, healthy)]
            if interval > 0 and (not at or t >= at) then
                items[#items + 1] = { ip = ip, port = port,
                                      host = target_host(row, target.id, ip) }
            end
        end
    end
    if #items > 0 then
        a.headers_text = a.headers_text or headers_text(a.headers)
        busy[uid] = true
        local ok, err = timer_at(0, round, uid, items, a)
        if not ok then
            busy[uid] = nil
            log(ERR, "[healthchecks] cannot start probes: ", err)
        end
    end
end

local function holds_lock(shm)
    local pid = worker_pid()
    if shm:add(LOCK, pid, LOCK_TTL) then
        return true
    end
    if shm:get(LOCK) == pid then
        shm:set(LOCK, pid, LOCK_TTL)
        return true
    end
    return false
end

local function tick(premature)
    local shm = state.dict()
    if premature or worker_exiting() then
        if shm:get(LOCK) == worker_pid() then
            shm:delete(LOCK)
        end
        return
    end
    if not holds_lock(shm) then
        return
    end
    update_time()
    local t = now()
    local live = {}
    for _, up in ipairs(upstreams.list()) do
        local row = up.id and (snapshot.state.entities.upstreams or EMPTY)[up.id]
        if row then
            local c = settings.of(row)
            if c.probing and PROBE_TYPES[c.active.type] then
                live[row.id] = true
                if not busy[row.id] then
                    schedule(row, c, t)
                end
            end
        end
    end
    for uid in pairs(due) do
        if not live[uid] then
            due[uid] = nil
        end
    end
end

function _M.init_worker()
    if worker_id() ~= 0 then
        return
    end
    local ok, err = timer_every(TICK, tick)
    if not ok then
        log(ERR, "cannot start the health prober: ", err)
    end
end

return _M
