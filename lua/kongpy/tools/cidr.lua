-- IPv4/IPv6 addresses and CIDR ranges without ngx: a list is compiled once
-- (per configuration version) into masks, then each address costs one parse
-- and a few integer comparisons per range.
local bit = require("bit")

local band = bit.band
local lshift = bit.lshift
local rshift = bit.rshift
local tobit = bit.tobit

local type = type
local tostring = tostring
local tonumber = tonumber
local find = string.find
local sub = string.sub
local match = string.match

local ERR_INVALID = "invalid ip or cidr range: "
local ERR_ADDRESS = "invalid ip address: "

local _M = {}

-- 32-bit integer of a dotted quad, or nil.
local function parse_v4(s)
    local a, b, c, d = match(s, "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
    if not a then
        return nil
    end
    a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
    if a > 255 or b > 255 or c > 255 or d > 255 then
        return nil
    end
    return tobit(((a * 256 + b) * 256 + c) * 256 + d)
end

-- Appends the 16-bit groups of a ':'-separated run to `out`; `last` allows a
-- trailing dotted quad (IPv4-embedded IPv6). Returns false when malformed.
local function add_groups(run, out, last)
    if run == "" then
        return true
    end
    local pos, len = 1, #run
    while pos <= len + 1 do
        local colon = find(run, ":", pos, true)
        local piece = sub(run, pos, colon and colon - 1 or len)
        if piece == "" then
            return false
        end
        if not colon and last and find(piece, ".", 1, true) then
            local v4 = parse_v4(piece)
            if not v4 then
                return false
            end
            out[#out + 1] = band(rshift(v4, 16), 0xffff)
            out[#out + 1] = band(v4, 0xffff)
            return true
        end
        if #piece > 4 or not match(piece, "^%x+$") then
            return false
        end
        out[#out + 1] = tonumber(piece, 16)
        if not colon then
            return true
        end
        pos = colon + 1
    end
    return false
end

-- The eight 16-bit groups of an IPv6 address, or nil.
local function parse_v6(s)
    local dc = find(s, "::", 1, true)
    local head, tail = s, nil
    if dc then
        head, tail = sub(s, 1, dc - 1), sub(s, dc + 2)
        if find(tail, "::", 1, true) then
            return nil
        end
    end
    local h, t = {}, {}
    if not add_groups(head, h, tail == nil) or (tail and not add_groups(tail, t, true)) then
        return nil
    end
    local n = #h + #t
    if (tail and n > 7) or (not tail and n ~= 8) then
        return nil
    end
    for _ = 1, 8 - n do
        h[#h + 1] = 0
    end
    for i = 1, #t do
        h[#h + 1] = t[i]
    end
    return h
end

-- parse(addr) -> 4, int | 6, groups | nil
function _M.parse(addr)
    if type(addr) ~= "string" then
        return nil
    end
    if find(addr, ":", 1, true) then
        if sub(addr, 1, 1) == "[" and sub(addr, -1) == "]" then
            addr = sub(addr, 2, -2)
        end
        local groups = parse_v6(addr)
        return groups and 6, groups
    end
    local v4 = parse_v4(addr)
    return v4 and 4, v4
end
local parse = _M.parse

local function v6_checks(groups, bits)
    local checks = {}
    for i = 1, 8 do
        if bits <= 0 then
            break
        end
        local mask = bits >= 16 and 0xffff or band(lshift(0xffff, 16 - bits), 0xffff)
        checks[#checks + 1] = { i, mask, band(groups[i], mask) }
        bits = bits - 16
    end
    return checks
end

-- compile({"10.0.0.0/8", "2001:db8::/32", "127.0.0.1"}) -> matcher | nil, err
function _M.compile(list)
    local v4, v6 = {}, {}
    for i = 1, #list do
        local entry = list[i]
        local slash = find(entry, "/", 1, true)
        local addr = slash and sub(entry, 1, slash - 1) or entry
        local family, value = parse(addr)
        if not family then
            return nil, ERR_INVALID .. entry
        end
        local max = family == 4 and 32 or 128
        local bits = max
        if slash then
            local text = sub(entry, slash + 1)
            bits = match(text, "^%d%d?%d?$") and tonumber(text)
            if not bits or bits > max then
                return nil, ERR_INVALID .. entry
            end
        end
        if family == 4 then
            local mask = bits == 0 and 0 or tobit(lshift(0xffffffff, 32 - bits))
            v4[#v4 + 1] = { mask, band(value, mask) }
        else
            v6[#v6 + 1] = v6_checks(value, bits)
        end
    end
    return { v4 = v4, v6 = v6, n4 = #v4, n6 = #v6 }
end

local function in_v6(groups, nets, n)
    for i = 1, n do
        local checks = nets[i]
        local ok = true
        for j = 1, #checks do
            local c = checks[j]
            if band(groups[c[1]], c[2]) ~= c[3] then
                ok = false
                break
            end
        end
        if ok then
            return true
        end
    end
    return false
end

-- contains(matcher, addr) -> boolean | nil, err (unparsable address)
function _M.contains(m, addr)
    local family, value = parse(addr)
    if not family then
        return nil, ERR_ADDRESS .. tostring(addr)
    end
    if family == 4 then
        local nets = m.v4
        for i = 1, m.n4 do
            local net = nets[i]
            if band(value, net[1]) == net[2] then
                return true
            end
        end
        return false
    end
    return in_v6(value, m.v6, m.n6)
end

return _M
