-- Name resolution for service hosts: the hosts file first, then the
-- configured nameservers; answers cached per worker for their TTL.
local resolver = require("nginx.dns.resolver")
local settings = require("kongpy.settings")

local ngx = ngx
local now = ngx.now
local log = ngx.log
local WARN = ngx.WARN

local io_open = io.open
local ipairs = ipairs
local tonumber = tonumber
local lower = string.lower
local gmatch = string.gmatch
local match = string.match
local find = string.find

local ERR_NOT_FOUND = "name resolution failed"
local NOT_FOUND_TTL = 30
local ERROR_TTL = 1
local MIN_TTL = 1

local _M = { ERR_NOT_FOUND = ERR_NOT_FOUND }

local hosts = {}
local cache = {}
local nameservers = {}

function _M.init()
    hosts = {}
    local f = io_open(settings.dns_hostsfile or "/etc/hosts", "rb")
    if f then
        for line in f:lines() do
            line = match(line, "^([^#]*)")
            local addr
            for word in gmatch(line, "%S+") do
                if not addr then
                    addr = word
                else
                    word = lower(word)
                    -- first entry wins, IPv4 preferred over IPv6
                    local prev = hosts[word]
                    if not prev or (find(prev, ":", 1, true) and not find(addr, ":", 1, true)) then
                        hosts[word] = addr
                    end
                end
            end
        end
        f:close()
    end
    nameservers = {}
    for _, ns in ipairs(settings.dns_resolver or {}) do
        local host, port = match(ns, "^([^:%[%]]+):(%d+)$")
        if not host then
            host, port = match(ns, "^%[(.+)%]:(%d+)$")
        end
        if not host then
            host, port = ns, 53
        end
        nameservers[#nameservers + 1] = { host, tonumber(port) or 53 }
    end
    cache = {}
end

local function query(name)
    if #nameservers == 0 then
        return nil, "no nameservers"
    end
    local r, err = resolver:new({ nameservers = nameservers, retrans = 2, timeout = 2000 })
    if not r then
        return nil, err
    end
    local addrs, ttl = {}, nil
    for _, qtype in ipairs({ r.TYPE_A, r.TYPE_AAAA }) do
        local answers, qerr = r:query(name, { qtype = qtype })
        if not answers then
            return nil, qerr
        end
        for _, ans in ipairs(answers) do
            if ans.address and (ans.type == r.TYPE_A or ans.type == r.TYPE_AAAA) then
                addrs[#addrs + 1] = ans.address
                if not ttl or ans.ttl < ttl then ttl = ans.ttl end
            end
        end
        if #addrs > 0 then
            return addrs, ttl
        end
    end
    return addrs, NOT_FOUND_TTL
end

-- Returns the cache record {addrs = {...}, rr = n} or nil, err.
function _M.resolve(name)
    local rec = cache[name]
    local t = now()
    if rec and rec.expires > t then
        if rec.addrs then return rec end
        return nil, ERR_NOT_FOUND
    end
    local addr = hosts[lower(name)]
    if addr then
        rec = { addrs = { addr }, rr = 0, expires = 1e12 }
        cache[name] = rec
        return rec
    end
    local addrs, ttl_or_err = query(name)
    if not addrs then
        log(WARN, "dns query for ", name, " failed: ", ttl_or_err)
        cache[name] = { expires = t + ERROR_TTL }
        return nil, ERR_NOT_FOUND
    end
    if #addrs == 0 then
        cache[name] = { expires = t + NOT_FOUND_TTL }
        return nil, ERR_NOT_FOUND
    end
    local ttl = ttl_or_err
    if ttl < MIN_TTL then ttl = MIN_TTL end
    rec = { addrs = addrs, rr = 0, expires = t + ttl }
    cache[name] = rec
    return rec
end

return _M
