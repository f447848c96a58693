-- Host strings as Kong's kong.tools.ip reads them: an IPv4 address, an
-- IPv6 address (bracketed when it carries a port) or a host name, each
-- with an optional port. normalize_ip returns the parts or Kong's message.
local tonumber = tonumber
local find = string.find
local gsub = string.gsub
local match = string.match
local sub = string.sub
local rep = string.rep

local _M = {}

local function hostname_type(name)
    local rest, colons = gsub(name, ":", "")
    if colons > 1 then
        return "ipv6"
    end
    if match(rest, "^[%d%.]+$") then
        return "ipv4"
    end
    return "name"
end

local function port_number(text)
    local port = tonumber(text)
    if port > 65535 then
        return nil
    end
    return port
end

local function normalize_ipv4(address)
    local a, b, c, d, port
    local quad = "^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)"
    if find(address, ":", 1, true) then
        a, b, c, d, port = match(address, quad .. ":(%d+)$")
    else
        a, b, c, d = match(address, quad .. "$")
    end
    if not a or tonumber(a) > 255 or tonumber(b) > 255 or tonumber(c) > 255
       or tonumber(d) > 255 then
        return nil, "invalid ipv4 address: " .. address
    end
    if port then
        port = port_number(port)
        if not port then
            return nil, "invalid port number"
        end
    end
    return a .. "." .. b .. "." .. c .. "." .. d, port
end

local function normalize_ipv6(address)
    local check, port = match(address, "^(%b[])(.-)$")
    if port == "" then
        port = nil
    end
    if check then
        check = sub(check, 2, -2)
        if port then
            port = match(port, "^:(%d-)$")
            if not port or port == "" then
                return nil, "invalid ipv6 address"
            end
            port = port_number(port)
            if not port then
                return nil, "invalid port number"
            end
        end
    else
        check, port = address, nil
    end
    if sub(check, 1, 1) == ":" then
        check = "0" .. check
    end
    if sub(check, -1) == ":" then
        check = check .. "0"
    end
    if find(check, "::", 1, true) then
        local _, count = gsub(check, ":", "")
        check = gsub(check, "::", ":" .. rep("0:", 8 - count), 1)
    end
    local group = "(%x%x?%x?%x?)"
    if not match(check, "^" .. group .. rep(":" .. group, 7) .. "$") then
        return nil, "invalid ipv6 address: " .. address
    end
    return check:lower(), port
end

local function check_hostname(address)
    local name = address
    local port = match(address, ":(%d+)$")
    if port then
        name = sub(name, 1, -(#port + 2))
        port = port_number(port)
        if not port then
            return nil, "invalid port number"
        end
    end
    if not match(name, "^[%d%a%-%.%_]+$") then
        return nil, "invalid hostname: " .. address
    end
    local segments, pos = {}, 1
    while true do
        local dot = find(name, ".", pos, true)
        segments[#segments + 1] = sub(name, pos, dot and dot - 1 or -1)
        if not dot then
            break
        end
        pos = dot + 1
    end
    for i = 1, #segments do
        local s = segments[i]
        if match(s, "%-$") or (s == "" and i ~= #segments) then
            return nil, "invalid hostname: " .. address
        end
    end
    return name, port
end

-- { type = "ipv4"|"ipv6"|"name", host, port } or nil, message.
function _M.normalize_ip(address)
    local kind = hostname_type(address)
    local host, port
    if kind == "ipv4" then
        host, port = normalize_ipv4(address)
    elseif kind == "ipv6" then
        host, port = normalize_ipv6(address)
    else
        host, port = check_hostname(address)
    end
    if host then
        return { type = kind, host = host, port = port }
    end
    return nil, port
end

return _M
