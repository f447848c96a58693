-- Name resolution: the hosts file first, then the configured nameservers;
-- answers cached per worker for their TTL. `resolve` serves service hosts
-- (A then AAAA); `records` serves upstream targets the way Kong's DNS client
-- does: record types tried in `dns_order` (LAST = the type that answered
-- last for the name), SRV answers of the top priority with their ports and
-- weights, CNAMEs followed.
local resolver = require("nginx.dns.resolver")
local settings = require("kongpy.settings")

local ngx = ngx
local now = ngx.now
local log = ngx.log
local WARN = ngx.WARN

local io_open = io.open
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local lower = string.lower
local gmatch = string.gmatch
local match = string.match
local find = string.find
local upper = string.upper
local type = type
local sort = table.sort

local ERR_NOT_FOUND = "name resolution failed"
local ERR_NAME = "dns server error: 3 name error"
local ERR_EMPTY = "dns client error: 101 empty record received"
local ERR_DEPTH = "dns client error: recursion detected"
local MAX_DEPTH = 5
local QTYPES = { A = 1, AAAA = 28, CNAME = 5, SRV = 33 }
local DEFAULT_ORDER = { "LAST", "SRV", "A", "CNAME" }
local NOT_FOUND_TTL = 30
local ERROR_TTL = 1
local MIN_TTL = 1

local _M = { ERR_NOT_FOUND = ERR_NOT_FOUND, ERR_NAME = ERR_NAME, ERR_EMPTY = ERR_EMPTY }

local hosts = {}
local cache = {}
local nameservers = {}
local order = DEFAULT_ORDER
-- records(): name -> {type, ttl, expires, list = {{ip, port, weight, name}}}
-- or {expires, err}; and the type that answered last for each name
local rcache = {}
local last_type = {}

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
    rcache = {}
    last_type = {}
    order = {}
    for _, t in ipairs(type(settings.dns_order) == "table" and settings.dns_order
                       or DEFAULT_ORDER) do
        t = upper(t)
        if t == "LAST" or QTYPES[t] then
            order[#order + 1] = t
        end
    end
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

local records

local function answers_of(r, name, qtype)
    local answers, err = r:query(name, { qtype = QTYPES[qtype] })
    if not answers then
        return nil, "dns client error: " .. tostring(err)
    end
    if answers.errcode then
        return nil, "dns server error: " .. answers.errcode .. " " .. answers.errstr
    end
    local found, ttl = {}, nil
    for _, ans in ipairs(answers) do
        if ans.type == QTYPES[qtype] then
            found[#found + 1] = ans
            if not ttl or ans.ttl < ttl then ttl = ans.ttl end
        end
    end
    if #found == 0 then
        return nil, ERR_EMPTY
    end
    return found, ttl
end

local function by_priority(a, b)
    return a.priority < b.priority
end

-- SRV answers of the top priority group; each target name resolved to its
-- addresses (weight 0 counts as 1, port 0 leaves the target's port).
local function expand_srv(found, ttl, depth)
    sort(found, by_priority)
    local top = found[1].priority
    local list = {}
    for _, ans in ipairs(found) do
        if ans.priority ~= top then break end
        local rec, err = records(ans.target, depth + 1, true)
        if rec then
            for _, a in ipairs(rec.list) do
                list[#list + 1] = {
                    ip = a.ip, name = ans.target,
                    port = ans.port ~= 0 and ans.port or nil,
                    weight = ans.weight ~= 0 and ans.weight or 1,
                }
            end
            if rec.ttl < ttl then ttl = rec.ttl end
        else
            log(WARN, "dns: SRV target ", ans.target, " failed: ", err)
        end
    end
    if #list == 0 then
        return nil, ERR_EMPTY
    end
    return list, ttl
end

local function resolve_type(r, name, qtype, depth)
    local found, ttl = answers_of(r, name, qtype)
    if not found then
        return nil, ttl
    end
    if qtype == "SRV" then
        return expand_srv(found, ttl, depth)
    end
    if qtype == "CNAME" then
        local rec, err = records(found[1].cname, depth + 1)
        if not rec then
            return nil, err
        end
        return rec.list, ttl < rec.ttl and ttl or rec.ttl
    end
    local list = {}
    for _, ans in ipairs(found) do
        list[#list + 1] = { ip = ans.address, name = name }
    end
    return list, ttl
end

-- The addresses of a target name: {type = "A"|"AAAA"|"SRV"|"CNAME", ttl,
-- list = {{ip, port (SRV only), weight (SRV only), name}}} or nil, err.
-- `addresses_only` (an SRV target) skips SRV and CNAME lookups.
records = function(name, depth, addresses_only)
    depth = depth or 0
    if depth > MAX_DEPTH then
        return nil, ERR_DEPTH
    end
    local key = addresses_only and "\0" .. name or name
    local t = now()
    local rec = rcache[key]
    if rec and rec.expires > t then
        if rec.list then return rec end
        return nil, rec.err
    end
    local addr = hosts[lower(name)]
    if addr then
        rec = { type = find(addr, ":", 1, true) and "AAAA" or "A", ttl = 10 * 365 * 86400,
                expires = 1e12, list = { { ip = addr, name = name } } }
        rcache[key] = rec
        return rec
    end
    if #nameservers == 0 then
        return nil, "no nameservers"
    end
    local r, rerr = resolver:new({ nameservers = nameservers, retrans = 2, timeout = 2000 })
    if not r then
        return nil, "dns client error: " .. tostring(rerr)
    end
    local err, tried = ERR_EMPTY, {}
    local kinds = addresses_only and { "A", "AAAA" } or order
    for _, qtype in ipairs(kinds) do
        if qtype == "LAST" then
            qtype = last_type[name]
        end
        if qtype and not tried[qtype] and not (addresses_only and qtype ~= "A"
                                               and qtype ~= "AAAA") then
            tried[qtype] = true
            local list, ttl = resolve_type(r, name, qtype, depth)
            if list then
                last_type[name] = qtype
                rec = { type = qtype, ttl = ttl, expires = t + (ttl < MIN_TTL and MIN_TTL or ttl),
                        list = list }
                rcache[key] = rec
                return rec
            end
            -- a name error outranks an empty answer of another type
            if err ~= ERR_NAME then err = ttl end
        end
    end
    rcache[key] = { expires = t + (err == ERR_NAME and NOT_FOUND_TTL or ERROR_TTL), err = err }
    return nil, err
end

_M.records = records

return _M
