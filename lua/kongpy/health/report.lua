-- What GET /upstreams/{u}/health shows, in Kong's shapes (reference §15.1):
-- per target its addresses and their health, and the balancer's verdict
-- against `healthchecks.threshold`.
local state = require("kongpy.health.state")
local settings = require("kongpy.health.settings")
local snapshot = require("kongpy.snapshot")
local upstreams = require("kongpy.upstreams")
local cjson = require("cjson.safe")

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable
local match = string.match
local sort = table.sort

local _M = {}

local EMPTY = {}
local ARRAY = cjson.array_mt

local function array()
    return setmetatable({}, ARRAY)
end

local function host_port(target)
    local host, port = match(target, "^%[(.+)%]:(%d+)$")
    if not host then
        host, port = match(target, "^(.+):(%d+)$")
    end
    return host or target, tonumber(port)
end

local function by_target(a, b)
    return a.row.target < b.row.target
end

-- The targets of an upstream, each with its addresses as the balancer has them.
local function targets_of(uid)
    local list, by_id = {}, {}
    for id, row in pairs((snapshot.state.entities or EMPTY).targets or EMPTY) do
        if type(row.upstream) == "table" and row.upstream.id == uid then
            local entry = { row = row, addresses = {} }
            list[#list + 1] = entry
            by_id[id] = entry
        end
    end
    sort(list, by_target)
    for address, target in upstreams.each_address(uid) do
        local entry = by_id[target.id]
        if entry then
            entry.dns = entry.dns or target.dns
            local a = entry.addresses
            a[#a + 1] = address
        end
    end
    return list
end

-- One target's status: Kong's getTargetStatus, plus the health words.
local function target_status(uid, entry, on)
    local row = entry.row
    local host, port = host_port(row.target)
    local weight = type(row.weight) == "number" and row.weight or 100
    local addresses, total, unavailable = array(), 0, 0
    local any_healthy, any_unhealthy = false, false
    for i, a in ipairs(entry.addresses) do
        local healthy = weight > 0 and (not on or state.is_healthy(uid, a.ip, a.port))
        local w = a.weight or weight
        total = total + w
        if not healthy then
            unavailable = unavailable + w
        end
        local word = "HEALTHCHECKS_OFF"
        if on and weight > 0 then
            word = healthy and "HEALTHY" or "UNHEALTHY"
            any_healthy = any_healthy or healthy
            any_unhealthy = any_unhealthy or not healthy
        end
        addresses[i] = { ip = a.ip, port = a.port, weight = w, health = word,
                         healthy = healthy }
    end
    local health
    if #addresses == 0 then
        health = "DNS_ERROR"
    elseif any_healthy then
        health = "HEALTHY"
    elseif any_unhealthy then
        health = "UNHEALTHY"
    else
        health = "HEALTHCHECKS_OFF"
    end
    return health, {
        host = host,
        port = port,
        dns = entry.dns or (#addresses == 0 and "unknown" or "A"),
        nodeWeight = weight,
        weight = { total = total, available = total - unavailable, unavailable = unavailable },
        addresses = addresses,
    }
end

-- Every target of every upstream the node serves, with its addresses'
-- health words (the prometheus plugin's kong_upstream_target_health):
-- { {upstream = name, target = "host:port", addresses = {{ip, port, health}}} }
function _M.all_targets()
    local out = {}
    for uid, row in pairs((snapshot.state.entities or EMPTY).upstreams or EMPTY) do
        local on = settings.of(row).on
        for _, entry in ipairs(targets_of(uid)) do
            local _, data = target_status(uid, entry, on)
            out[#out + 1] = { upstream = row.name, target = entry.row.target,
                              addresses = data.addresses }
        end
    end
    return out
end

-- The document of GET /upstreams/health (docs/contracts.md §6) for a row.
function _M.upstream(row)
    local uid = row.id
    local c = settings.of(row)
    local targets, hosts = {}, array()
    local total, unavailable = 0, 0
    for i, entry in ipairs(targets_of(uid)) do
        local health, data = target_status(uid, entry, c.on)
        local w = data.weight
        total = total + w.total
        unavailable = unavailable + w.unavailable
        -- the per-target view says `health`; the balancer's view `healthy`
        local detail_addresses, plain = array(), array()
        for j, a in ipairs(data.addresses) do
            detail_addresses[j] = { ip = a.ip, port = a.port, weight = a.weight,
                                    healthy = a.healthy }
            plain[j] = { ip = a.ip, port = a.port, weight = a.weight, health = a.health }
        end
        data.addresses = plain
        targets[entry.row.id] = { health = health, data = data }
        local detail = {}
        for k, v in pairs(data) do
            detail[k] = v
        end
        detail.addresses = detail_addresses
        hosts[i] = detail
    end
    local available = total - unavailable
    local healthy = total > 0 and available * 100 / total > c.threshold
    local verdict = healthy and "HEALTHY" or "UNHEALTHY"
    return {
        targets = targets,
        balancer = {
            health = c.on and verdict or "HEALTHCHECKS_OFF",
            balancer_health = verdict,
            details = {
                healthy = healthy,
                weight = { total = total, available = available, unavailable = unavailable },
                hosts = hosts,
            },
        },
    }
end

return _M
