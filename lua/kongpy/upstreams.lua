-- The upstreams of the configuration this worker serves and the addresses
-- of their targets (docs/contracts.md §6). Targets given by IP literal only:
-- a target naming a host has no address here.
--   list()                  array of upstream rows (each with `id`)
--   each_address(id)        iterator of (address, target): address {ip, port,
--                           weight}, target {id, dns}; targets in `target` order
--   by_name(name)           the upstream row a service host names, and its
--                           addresses (an array)
local snapshot = require("kongpy.snapshot")

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local match = string.match
local sort = table.sort

local _M = {}

local EMPTY = {}
local built_for, by_upstream, upstream_list, by_name, address_lists

local function parse(target)
    local ip, port = match(target, "^%[([%x:.]+)%]:(%d+)$")
    if ip then
        return ip, tonumber(port), "AAAA"
    end
    ip, port = match(target, "^(%d+%.%d+%.%d+%.%d+):(%d+)$")
    if ip then
        return ip, tonumber(port), "A"
    end
end

local function by_target(a, b)
    return a.row.target < b.row.target
end

local function by_id(a, b)
    return a.id < b.id
end

local function build(st)
    local ents = st.entities or EMPTY
    by_upstream, upstream_list, by_name, address_lists = {}, {}, {}, {}
    for _, row in pairs(ents.upstreams or EMPTY) do
        if type(row.id) == "string" then
            upstream_list[#upstream_list + 1] = row
            by_upstream[row.id] = {}
            if type(row.name) == "string" then
                by_name[row.name] = row
            end
        end
    end
    sort(upstream_list, by_id)
    for _, row in pairs(ents.targets or EMPTY) do
        local up = type(row.upstream) == "table" and by_upstream[row.upstream.id]
        if up and type(row.target) == "string" then
            local ip, port, dns = parse(row.target)
            local weight = type(row.weight) == "number" and row.weight or 100
            local entry = { row = row, target = { id = row.id, dns = dns } }
            if ip then
                entry.address = { ip = ip, port = port, weight = weight }
            end
            up[#up + 1] = entry
        end
    end
    for id, list in pairs(by_upstream) do
        sort(list, by_target)
        local addrs = {}
        for _, e in ipairs(list) do
            if e.address then
                addrs[#addrs + 1] = e.address
            end
        end
        address_lists[id] = addrs
    end
    built_for = st
end

-- A delta changes the entity maps in place: rebuilt per version.
local built_version
local function current()
    local st = snapshot.state
    if st ~= built_for or st.version ~= built_version then
        build(st)
        built_version = st.version
    end
end

function _M.list()
    current()
    return upstream_list
end

-- The upstream a service host names, and its addresses (an array).
function _M.by_name(name)
    current()
    local row = by_name[name]
    return row, row and address_lists[row.id]
end

function _M.each_address(upstream_id)
    current()
    local entries = by_upstream[upstream_id] or EMPTY
    local i = 0
    return function()
        while true do
            i = i + 1
            local e = entries[i]
            if not e then
                return nil
            end
            if e.address then
                return e.address, e.target
            end
        end
    end
end

return _M
