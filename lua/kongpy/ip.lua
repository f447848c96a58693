-- trusted_ips matching (IPv4/IPv6 addresses and CIDRs) with a per-worker
-- memo, since the same few peers send most requests.
local lrucache = require("resty.lrucache")
local bit = require("bit")

local ipairs = ipairs
local tonumber = tonumber
local find = string.find
local sub = string.sub
local gmatch = string.gmatch
local band, lshift = bit.band, bit.lshift

local _M = {}

-- Returns an array of 16-bit groups (8 for IPv6, 2 for IPv4) or nil.
local function parse(addr)
    if find(addr, ":", 1, true) then
        if sub(addr, 1, 1) == "[" then addr = sub(addr, 2, -2) end
        local head, tail = addr, nil
        local dc = find(addr, "::", 1, true)
        if dc then head, tail = sub(addr, 1, dc - 1), sub(addr, dc + 2) end
        local function groups(s)
            local g = {}
            if s == "" then return g end
            for part in gmatch(s, "[^:]+") do
                local n = tonumber(part, 16)
                if not n or n > 0xffff then return nil end
                g[#g + 1] = n
            end
            return g
        end
        local h, t = groups(head), tail and groups(tail) or {}
        if not h or not t then return nil end
        local out = {}
        for _, n in ipairs(h) do out[#out + 1] = n end
        for _ = 1, 8 - #h - #t do out[#out + 1] = 0 end
        for _, n in ipairs(t) do out[#out + 1] = n end
        if #out ~= 8 then return nil end
        return out, 6
    end
    local a, b, c, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then return nil end
    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
    if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
    return { a * 256 + b, c * 256 + d }, 4
end
_M.parse = parse

local function in_net(groups, net)
    local bits = net.bits
    for i, g in ipairs(net.groups) do
        if bits <= 0 then return true end
        local take = bits >= 16 and 16 or bits
        local mask = band(lshift(0xffff, 16 - take), 0xffff)
        if band(groups[i], mask) ~= band(g, mask) then return false end
        bits = bits - 16
    end
    return true
end

-- Builds a matcher function from a list like {"127.0.0.1", "10.0.0.0/8"}.
function _M.matcher(list)
    local nets = {}
    for _, item in ipairs(list or {}) do
        if item == "unix:" then
            nets.unix = true
        else
            local slash = find(item, "/", 1, true)
            local addr = slash and sub(item, 1, slash - 1) or item
            local groups, family = parse(addr)
            if groups then
                local max = family == 4 and 32 or 128
                local bits = slash and tonumber(sub(item, slash + 1)) or max
                nets[#nets + 1] = { groups = groups, family = family, bits = bits }
            end
        end
    end
    if #nets == 0 and not nets.unix then
        return function() return false end
    end
    local memo = lrucache.new(1000)
    return function(addr)
        if not addr then return false end
        local hit = memo:get(addr)
        if hit ~= nil then return hit end
        local ok = false
        if sub(addr, 1, 5) == "unix:" then
            ok = nets.unix or false
        else
            local groups, family = parse(addr)
            if groups then
                for _, net in ipairs(nets) do
                    if net.family == family and in_net(groups, net) then
                        ok = true
                        break
                    end
                end
            end
        end
        memo:set(addr, ok)
        return ok
    end
end

return _M
