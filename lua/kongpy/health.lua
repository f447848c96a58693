-- Health checks of upstream addresses, with Kong's semantics
-- (docs/contracts.md §6). The state lives in the kongpy_health dict
-- (kongpy.health.state), so every worker of the node sees one verdict:
--   * passive checks: the balancer reports what real traffic met;
--   * active checks: one prober per node (kongpy.health.prober);
--   * manual overrides: the control socket, and other nodes' overrides as
--     the cluster event `balancer:post_health`.
-- Each worker also keeps the state tied to the configuration: an upstream
-- whose `healthchecks` changed, or that was deleted, loses its state; an IP
-- target that went away loses its address's.
local state = require("kongpy.health.state")
local settings = require("kongpy.health.settings")
local snapshot = require("kongpy.snapshot")
local upstreams = require("kongpy.upstreams")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local WARN = ngx.WARN
local timer_every = ngx.timer.every

local type = type
local pairs = pairs
local tonumber = tonumber
local tostring = tostring
local match = string.match
local find = string.find

local KEEP_INTERVAL = 0.2
local CHANNEL = "balancer:post_health"

local _M = {}

local EMPTY = {}

-- Hot path: one shared-dict read (the balancer asks per candidate peer).
_M.is_healthy = state.is_healthy

-- Passive checks: `upstream` is the snapshot row (id, healthchecks).
function _M.report_http_status(upstream, ip, port, status)
    local c = settings.of(upstream)
    if not c.on then
        return
    end
    local p = c.passive
    status = tonumber(status) or 0
    if p.ok_statuses[status] then
        return state.count(upstream.id, ip, port, "ok", p.successes)
    end
    if p.bad_statuses[status] or status == 0 then
        return state.count(upstream.id, ip, port, "http", p.http)
    end
end

function _M.report_tcp_failure(upstream, ip, port)
    local c = settings.of(upstream)
    if c.on then
        return state.count(upstream.id, ip, port, "tcp", c.passive.tcp)
    end
end

function _M.report_timeout(upstream, ip, port)
    local c = settings.of(upstream)
    if c.on then
        return state.count(upstream.id, ip, port, "timeout", c.passive.timeout)
    end
end

-- The upstream row of the served configuration, by id.
function _M.upstream(id)
    local ups = (snapshot.state.entities or EMPTY).upstreams
    return ups and ups[id]
end

local function target_text(host, port)
    return (find(host, ":", 1, true) and "[" .. host .. "]" or host) .. ":" .. port
end

-- A manual override (Kong's post_health): every address of the target
-- host:port, or only ip:ip_port. Returns true, or nil and Kong's message.
function _M.set_manual(upstream_id, host, port, ip, ip_port, healthy)
    -- a change of settings this worker serves but has not kept yet would
    -- otherwise wipe the override a moment later
    _M.keep()
    local row = _M.upstream(upstream_id)
    if not row then
        return nil, "Upstream " .. tostring(upstream_id) .. " has no balancer"
    end
    if not settings.of(row).on then
        return nil, "no healthchecker found for " .. tostring(row.name)
    end
    if ip then
        return state.set(upstream_id, ip, ip_port or port, healthy)
    end
    local wanted = target_text(host, port)
    local targets = (snapshot.state.entities or EMPTY).targets or EMPTY
    for address, target in upstreams.each_address(upstream_id) do
        local t = targets[target.id]
        if t and t.target == wanted then
            state.set(upstream_id, address.ip, address.port, healthy)
        end
    end
    log(WARN, "[healthchecks] ", healthy and "healthy" or "unhealthy", " forced for ",
        wanted, ip and (" " .. ip) or "", " of upstream ", row.name)
    return true
end

-- `<host>|<ip>|<port>|<1|0>|<upstream id>|<upstream name>` from another node.
local function on_cluster_health(data)
    if type(data) ~= "string" then
        return
    end
    local host, ip, port, flag, id = match(data, "^([^|]*)|([^|]*)|(%d+)|([01])|([^|]+)|")
    if not host then
        log(ERR, "ignoring a malformed ", CHANNEL, " event: ", data)
        return
    end
    port = tonumber(port)
    local ok, err
    if ip ~= "" then
        ok, err = _M.set_manual(id, host, port, ip, port, flag == "1")
    else
        ok, err = _M.set_manual(id, host, port, nil, nil, flag == "1")
    end
    if not ok then
        log(WARN, "[healthchecks] override from another node not applied: ", err)
    end
end

-- -- keeping the state tied to the configuration --------------------------

local seen_version
local seen_upstreams = {}   -- id -> row last seen
local seen_targets = {}     -- target id -> "uid|ip|port" of an IP target

local function ip_target(row)
    local up = type(row.upstream) == "table" and row.upstream.id
    local t = type(row.target) == "string" and row.target
    if not (up and t) then
        return
    end
    local ip, port = match(t, "^%[([%x:.]+)%]:(%d+)$")
    if not ip then
        ip, port = match(t, "^(%d+%.%d+%.%d+%.%d+):(%d+)$")
    end
    if ip then
        return up .. "|" .. ip .. "|" .. port
    end
end

local function keep_upstreams(ents)
    local current = ents.upstreams or EMPTY
    for id, row in pairs(current) do
        if seen_upstreams[id] ~= row then
            local digest = settings.digest(row)
            local had = state.digest_of(id)
            if had ~= digest then
                if had then
                    state.forget_upstream(id)
                end
                state.set_digest(id, digest)
            end
            seen_upstreams[id] = row
        end
    end
    for id in pairs(seen_upstreams) do
        if not current[id] then
            state.forget_upstream(id)
            seen_upstreams[id] = nil
        end
    end
end

local function keep_targets(ents)
    local current = ents.targets or EMPTY
    local now = {}
    for id, row in pairs(current) do
        now[id] = ip_target(row)
    end
    for id, key in pairs(seen_targets) do
        if now[id] ~= key then
            local uid, ip, port = match(key, "^([^|]+)|([^|]+)|(%d+)$")
            state.forget(uid, ip, tonumber(port))
        end
    end
    seen_targets = now
end

function _M.keep()
    local st = snapshot.state
    if st.version == seen_version then
        return
    end
    seen_version = st.version
    local ents = st.entities or EMPTY
    keep_upstreams(ents)
    keep_targets(ents)
end

local function keep_tick(premature)
    if not premature then
        _M.keep()
    end
end

function _M.init_worker()
    if not state.available() then
        log(ERR, "no kongpy_health shared dict: health checks are off")
        return
    end
    _M.keep()
    local ok, err = timer_every(KEEP_INTERVAL, keep_tick)
    if not ok then
        log(ERR, "cannot start the health housekeeping timer: ", err)
    end
    require("kongpy.pdk.cluster_events").subscribe(nil, CHANNEL, on_cluster_health)
    require("kongpy.health.prober").init_worker()
end

return _M
