-- Upstream objects of one worker (contracts.md §6): built from the snapshot's
-- `upstreams` and `targets` rows, per configuration version, and rebuilt only
-- for the upstreams whose rows or targets changed, so that untouched ones keep
-- their balancer state (round-robin position, connection counts, latencies).
--
-- Each target becomes addresses: an IP target at once, a name through
-- kongpy.dns (A/AAAA/SRV/CNAME in dns_order). Names are resolved in the access
-- phase (cosockets) when their TTL has expired; the requests meanwhile keep
-- the previous balancer, and a request in flight keeps the balancer it
-- started with, so a rebuild never disturbs it.
local dns = require("kongpy.dns")
local health_settings = require("kongpy.health.settings")
local round_robin = require("kongpy.balancers.round_robin")
local consistent_hashing = require("kongpy.balancers.consistent_hashing")
local least_connections = require("kongpy.balancers.least_connections")
local latency = require("kongpy.balancers.latency")

local ngx = ngx
local now = ngx.now
local log = ngx.log
local WARN = ngx.WARN

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local find = string.find
local match = string.match
local tostring = tostring
local pcall = pcall
local sort = table.sort

local ERR_TARGET = "invalid target: "
local REFRESH_STALE = 5

local ALGORITHMS = {
    ["round-robin"] = round_robin,
    ["consistent-hashing"] = consistent_hashing,
    ["least-connections"] = least_connections,
    ["latency"] = latency,
}

local _M = {}

local EMPTY = {}

local function str(v)
    return type(v) == "string" and v or nil
end

-- "host:port" or "[ipv6]:port" (targets are stored with their port)
local function parse_target(text)
    if type(text) ~= "string" then
        return nil
    end
    local host, port = match(text, "^%[(.+)%]:(%d+)$")
    if host then
        return host, tonumber(port), true, "[" .. host .. "]"
    end
    host, port = match(text, "^([^:]+):(%d+)$")
    if not host then
        return nil
    end
    local is_ip = match(host, "^%d+%.%d+%.%d+%.%d+$") ~= nil
    return host, tonumber(port), is_ip, host
end

-- Host header (and SNI) of a peer, as Kong's set_host_header: the upstream's
-- host_header, else the target's name, plus ":port" unless the default port.
local function host_headers(addr, hostname)
    local port = addr.port
    addr.sni = hostname
    addr.host_http = port == 80 and hostname or hostname .. ":" .. port
    addr.host_https = port == 443 and hostname or hostname .. ":" .. port
end

local function new_address(up, t, ip, port, weight, name)
    local addr = {
        ip = ip, port = port, weight = weight, target = t,
        key = (find(ip, ":", 1, true) and "[" .. ip .. "]" or ip) .. ":" .. port,
    }
    local hostname = up.host_header or (not up.use_srv_name and name) or t.host_text
    host_headers(addr, hostname)
    return addr
end

-- The addresses of a target from a DNS record (kongpy.dns.records).
local function addresses_of(up, t, rec)
    local list = {}
    for _, a in ipairs(rec.list) do
        local weight = a.weight and t.weight > 0 and a.weight or t.weight
        local name = rec.type == "SRV" and a.name or nil
        list[#list + 1] = new_address(up, t, a.ip, a.port or t.port, weight, name)
    end
    return list
end

local function by_key(a, b)
    local ta, tb = a.target, b.target
    if ta.host ~= tb.host then return ta.host < tb.host end
    if ta.port ~= tb.port then return ta.port < tb.port end
    return a.key < b.key
end

-- (Re)builds the balancer from the targets' current addresses.
local function rebuild(up)
    local all = {}
    for _, t in ipairs(up.targets) do
        for _, a in ipairs(t.addresses) do
            all[#all + 1] = a
        end
    end
    sort(all, by_key)
    up.addresses = all
    up.balancer = up.algorithm.new(up, all)
end

local function positive(t, name)
    return type(t) == "table" and (tonumber(t[name]) or 0) > 0
end

-- Passive checks count something only when one of their thresholds is set
-- (Kong's healthchecker ignores the reports otherwise): the proxy path skips
-- the reports of the other upstreams.
local function passive_on(hc)
    local p = type(hc.passive) == "table" and hc.passive or EMPTY
    local u = p.unhealthy
    return positive(u, "tcp_failures") or positive(u, "timeouts")
        or positive(u, "http_failures") or positive(p.healthy, "successes")
end

local function build_one(row, target_rows)
    local hc = type(row.healthchecks) == "table" and row.healthchecks or EMPTY
    local up = {
        id = row.id,
        name = row.name,
        row = row,
        healthchecks = hc,
        threshold = tonumber(hc.threshold) or 0,
        passive = passive_on(hc),
        -- with health checks off every address is available: the balancers
        -- skip the shared-dict read (Kong: HEALTHCHECKS_OFF)
        checks = health_settings.of(row).on,
        algorithm = ALGORITHMS[row.algorithm] or round_robin,
        slots = tonumber(row.slots) or 10000,
        host_header = str(row.host_header),
        use_srv_name = row.use_srv_name == true,
        targets = {},
        expires = nil,
    }
    up.hash = consistent_hashing.hash_spec(row)
    for _, trow in ipairs(target_rows) do
        local host, port, is_ip, text = parse_target(trow.target)
        if not host then
            return nil, ERR_TARGET .. tostring(trow.target)
        end
        local weight = tonumber(trow.weight) or 100
        local t = { id = trow.id, row = trow, host = host, port = port, host_text = text,
                    weight = weight, is_ip = is_ip, addresses = EMPTY, dns = "unknown" }
        if is_ip then
            t.addresses = { new_address(up, t, host, port, weight) }
            t.dns = find(host, ":", 1, true) and "AAAA" or "A"
        else
            up.expires = 0
        end
        up.targets[#up.targets + 1] = t
    end
    rebuild(up)
    return up
end

local function upstream_id(trow)
    local u = type(trow) == "table" and trow.upstream
    return type(u) == "table" and u.id or nil
end

local function targets_by_upstream(targets, only)
    local grouped = {}
    for _, trow in pairs(targets or EMPTY) do
        local uid = upstream_id(trow)
        if uid and (not only or only[uid]) then
            local list = grouped[uid]
            if not list then
                list = {}
                grouped[uid] = list
            end
            list[#list + 1] = trow
        end
    end
    return grouped
end

local function index(by_id)
    local by_name = {}
    for _, up in pairs(by_id) do
        if up.name then by_name[up.name] = up end
    end
    return { by_id = by_id, by_name = by_name }
end

-- The upstreams after a delta: `changed` holds the ids whose rows or targets
-- changed; every other object is kept as it is.
function _M.update(prev, upstreams, targets, changed)
    local grouped = targets_by_upstream(targets, changed)
    local by_id = {}
    for id, up in pairs(prev and prev.by_id or EMPTY) do
        if not changed[id] then by_id[id] = up end
    end
    for id in pairs(changed) do
        local row = upstreams and upstreams[id]
        if type(row) == "table" and type(row.name) == "string" then
            local up, err = build_one(row, grouped[id] or EMPTY)
            if not up then
                return nil, err
            end
            by_id[id] = up
        end
    end
    return index(by_id)
end

-- All upstreams of a full snapshot (maps of rows by id).
function _M.build(upstreams, targets)
    local all = {}
    for id, row in pairs(upstreams or EMPTY) do
        if type(row) == "table" and type(row.id) == "string" then
            all[id] = true
        end
    end
    return _M.update(nil, upstreams, targets, all)
end

-- The ids a delta touches: its upstreams, and the upstreams of the targets it
-- writes or deletes (their previous rows are in `old_targets`).
function _M.changed_ids(changes, old_targets)
    local ids = {}
    local ch = changes.upstreams
    if ch then
        for _, row in ipairs(ch.upsert or EMPTY) do ids[row.id] = true end
        for _, id in ipairs(ch.delete or EMPTY) do ids[id] = true end
    end
    ch = changes.targets
    if ch then
        for _, row in ipairs(ch.upsert or EMPTY) do
            local uid = upstream_id(row)
            if uid then ids[uid] = true end
            uid = upstream_id(old_targets and old_targets[row.id])
            if uid then ids[uid] = true end
        end
        for _, id in ipairs(ch.delete or EMPTY) do
            local uid = upstream_id(old_targets and old_targets[id])
            if uid then ids[uid] = true end
        end
    end
    return ids
end

local function same_addresses(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do
        local x, y = a[i], b[i]
        if x.key ~= y.key or x.weight ~= y.weight or x.sni ~= y.sni then
            return false
        end
    end
    return true
end

-- Resolves the names of the upstream's targets whose answers expired and
-- rebuilds its balancer when an address list changed. Cosockets: access
-- phase or timers only.
local function resolve(up)
    local t0 = now()
    local changed, expires = false, nil
    for _, t in ipairs(up.targets) do
        if not t.is_ip then
            local rec, err = dns.records(t.host)
            local list
            if rec then
                list = addresses_of(up, t, rec)
                t.dns = rec.type
                local exp = t0 + (rec.ttl > 1 and rec.ttl or 1)
                if not expires or exp < expires then expires = exp end
            else
                log(WARN, "upstream ", up.name, ": target ", t.host, ": ", err)
                list = EMPTY
                t.dns = err
                if not expires or t0 + 1 < expires then expires = t0 + 1 end
            end
            if not same_addresses(list, t.addresses) then
                t.addresses = list
                changed = true
            end
        end
    end
    if changed or not up.resolved then
        rebuild(up)
    end
    up.expires = expires
    up.resolved = true
end

function _M.refresh(up)
    -- one resolution at a time; the others keep the current balancer (but
    -- until the first one finished there is none worth keeping)
    -- (a resolution whose request died while it waited on the nameserver
    -- never clears its mark: after REFRESH_STALE s another one may start)
    local since = up.refreshing
    if since and up.resolved and now() - since < REFRESH_STALE then
        return
    end
    up.refreshing = now()
    local ok, err = pcall(resolve, up)
    up.refreshing = nil
    if not ok then
        log(WARN, "upstream ", up.name, ": resolving its targets failed: ", err)
        up.expires = now() + 1
    end
end

-- Per-request entry: the upstream named `name` in `ups` (state.upstreams),
-- its names resolved if their TTL expired.
function _M.get(ups, name)
    local up = ups and ups.by_name[name]
    if up then
        local exp = up.expires
        if exp and exp <= now() then
            _M.refresh(up)
        end
    end
    return up
end

-- The health checker's view (kongpy.health): the upstreams this worker
-- serves, by id order, and the addresses of one of them. Names whose answers
-- expired are resolved again first (the prober runs in a timer: cosockets).
local function serving()
    -- required here: kongpy.snapshot loads this module through kongpy.state
    local st = require("kongpy.snapshot").state
    return st and st.upstreams
end

function _M.list()
    local ups = serving()
    local out = {}
    for id, up in pairs(ups and ups.by_id or EMPTY) do
        out[#out + 1] = { id = id, name = up.name }
    end
    sort(out, function(a, b) return a.id < b.id end)
    return out
end

function _M.each_address(uid)
    local ups = serving()
    local up = ups and ups.by_id[uid]
    if up and up.expires and up.expires <= now() then
        _M.refresh(up)
    end
    local targets = up and up.targets or EMPTY
    local ti, ai = 1, 0
    return function()
        while true do
            local t = targets[ti]
            if not t then
                return nil
            end
            ai = ai + 1
            local a = t.addresses[ai]
            if a then
                return a, t
            end
            ti, ai = ti + 1, 0
        end
    end
end

_M.parse_target = parse_target

return _M
