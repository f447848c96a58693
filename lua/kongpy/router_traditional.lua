-- router_flavor = traditional: Kong's older matcher (kong-reference 3.3).
-- Routes are split per path, sorted, then grouped into categories by the set
-- of attribute kinds they use; a request first computes the best category it
-- might target from plain indexes, tries the category's narrowed candidates,
-- then all of its routes, then the lower categories. Everything here is built
-- once per configuration version; router.lua caches the answers.
local bit = require("bit")

local re_match = ngx.re.match
local re_find = ngx.re.find

local type = type
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local byte = string.byte
local sub = string.sub
local lower = string.lower
local upper = string.upper
local find = string.find
local sort = table.sort
local band, bor = bit.band, bit.bor

local ERR_REGEX = "invalid regex path '%s': %s"
local ERR_HEADER_REGEX = "invalid header regex '%s': %s"
local ERR_CATEGORY = "could not categorize route"

-- Kong bounds the cost of a regex path (traditional only).
local LIMIT = "(*LIMIT_MATCH=10000)"

local HOST, HEADER, URI, METHOD, SNI = 0x40, 0x20, 0x10, 0x08, 0x04
local REGEX_URI, PLAIN_HOSTS_ONLY, WILDCARD_HOST_PORT = 0x01, 0x02, 0x04

local ASTERISK, DOT = byte("*"), byte(".")

local _M = {}

-- "host" or "host:port" -> name, port (nil without a numeric port).
local function split_port(h)
    local colon = find(h, ":", 1, true)
    if colon and not find(h, ":", colon + 1, true) then
        local port = tonumber(sub(h, colon + 1))
        if port then
            return sub(h, 1, colon - 1), port
        end
    end
    return h, nil
end

local function compile_hosts(vr, hosts)
    local plain, wild = {}, {}
    for _, h in ipairs(hosts) do
        h = lower(h)
        if find(h, "*", 1, true) then
            local name, port = split_port(h)
            -- Kong turns `*` into `.+` and, without a port, accepts any port
            local w = { value = h, port = port }
            if byte(name, 1) == ASTERISK then
                w.suffix = sub(name, 2)
            else
                w.prefix = sub(name, 1, -2)
            end
            if port then
                vr.sub = bor(vr.sub, WILDCARD_HOST_PORT)
            end
            wild[#wild + 1] = w
        else
            plain[#plain + 1] = h
            vr.plain_hosts[h] = true
        end
    end
    if #wild == 0 then
        vr.sub = bor(vr.sub, PLAIN_HOSTS_ONLY)
    end
    vr.wild_hosts = wild
    return plain
end

local function compile_headers(vr, headers)
    local list = {}
    for name, values in pairs(headers) do
        if type(name) ~= "string" or type(values) ~= "table" then
            return nil, "headers must map names to arrays of strings"
        end
        name = lower(name)
        -- Kong never routes on Host through `headers`
        if name ~= "host" then
            local h = { name = name, values = {} }
            for _, v in ipairs(values) do
                if type(v) ~= "string" then
                    return nil, "header values must be strings"
                end
                h.values[lower(v)] = true
            end
            -- only a single value may be a regex, as in Kong
            if #values == 1 and sub(values[1], 1, 2) == "~*" then
                h.pattern = sub(values[1], 3)
                local _, err = re_find("", h.pattern, "jo")
                if err then
                    return nil, ERR_HEADER_REGEX:format(values[1], err)
                end
            end
            list[#list + 1] = h
        end
    end
    sort(list, function(a, b) return a.name < b.name end)
    vr.headers = list
    return list
end

local function compile_uri(vr, p)
    if byte(p, 1) == 126 then -- "~"
        local rx = sub(p, 2)
        local _, err = re_match("", LIMIT .. rx, "ajo")
        if err then
            return ERR_REGEX:format(p, err)
        end
        vr.uri = { value = rx, regex = rx, strip_regex = LIMIT .. rx .. "(?<uri_postfix>.*)" }
        vr.sub = bor(vr.sub, REGEX_URI)
    else
        vr.uri = { value = p, prefix = true }
        vr.max_len = #p
    end
end

-- One virtual route per path; `base` holds the rest of the route's facts.
local function new_vroute(base, p)
    local vr = {}
    for k, v in pairs(base) do vr[k] = v end
    if p then
        local err = compile_uri(vr, p)
        if err then return nil, err end
        vr.rules = bor(vr.rules, URI)
        vr.weight = vr.weight + 1
    end
    return vr
end

local function marshall(out, route, entry, seq, lists)
    local base = {
        entry = entry, rules = 0, weight = 0, sub = 0, max_len = 0, seq = seq,
        plain_hosts = {}, wild_hosts = {}, headers = {}, methods = {}, snis = {},
        regex_priority = tonumber(route.regex_priority) or 0,
        created_at = tonumber(route.created_at),
    }
    if lists.hosts then
        compile_hosts(base, lists.hosts)
        base.rules, base.weight = bor(base.rules, HOST), base.weight + 1
    end
    if lists.headers then
        local hs, err = compile_headers(base, lists.headers)
        if not hs then return err end
        if #hs > 0 then
            base.rules, base.weight = bor(base.rules, HEADER), base.weight + 1
        end
    end
    if lists.methods then
        for _, m in ipairs(lists.methods) do base.methods[upper(m)] = true end
        base.rules, base.weight = bor(base.rules, METHOD), base.weight + 1
    end
    if lists.snis then
        for _, s in ipairs(lists.snis) do
            s = lower(s)
            -- the last dot of a FQDN is not used for routing
            if #s > 1 and byte(s, -1) == DOT then s = sub(s, 1, -2) end
            base.snis[s] = true
        end
        base.rules, base.weight = bor(base.rules, SNI), base.weight + 1
    end
    local paths = lists.paths or { false }
    if base.rules == 0 and not lists.paths then
        return ERR_CATEGORY
    end
    for i, p in ipairs(paths) do
        local vr, err = new_vroute(base, p or nil)
        if not vr then return err end
        vr.seq = seq + i / 1000
        out[#out + 1] = vr
    end
end
_M.marshall = marshall

-- Kong's order within the whole route set (categories keep it): sub-rule
-- bits, header count, regex_priority (regex paths), longer prefix, older
-- created_at. Kong leaves the remaining ties to an unstable sort; kongpy
-- uses the snapshot's order (route id), then path order.
local function before(a, b)
    if a.sub ~= b.sub then return a.sub > b.sub end
    if #a.headers ~= #b.headers then return #a.headers > #b.headers end
    if band(a.sub, REGEX_URI) ~= 0 and a.regex_priority ~= b.regex_priority then
        return a.regex_priority > b.regex_priority
    end
    if a.max_len ~= b.max_len then return a.max_len > b.max_len end
    if a.created_at and b.created_at and a.created_at ~= b.created_at then
        return a.created_at < b.created_at
    end
    return a.seq < b.seq
end

local function push(t, key, vr)
    local list = t[key]
    if not list then
        list = {}
        t[key] = list
    end
    list[#list + 1] = vr
end

local function index(vr, idx, categories)
    local c = categories[vr.rules]
    if not c then
        c = { bit = vr.rules, weight = vr.weight, all = {}, by = {
            [HOST] = {}, [HEADER] = {}, [URI] = {}, [METHOD] = {}, [SNI] = {},
        } }
        categories[vr.rules] = c
    end
    c.all[#c.all + 1] = vr
    local by = c.by
    for h in pairs(vr.plain_hosts) do
        idx.hosts[h] = true
        push(by[HOST], h, vr)
    end
    for _, w in ipairs(vr.wild_hosts) do
        idx.wild_hosts[#idx.wild_hosts + 1] = w
        push(by[HOST], w.value, vr)
    end
    for _, h in ipairs(vr.headers) do
        if not idx.header_set[h.name] then
            idx.header_set[h.name] = true
            idx.header_names[#idx.header_names + 1] = h.name
        end
        push(by[HEADER], h.name, vr)
    end
    local u = vr.uri
    if u then
        if u.prefix then
            idx.uris[u.value] = true
            idx.prefix_uris[#idx.prefix_uris + 1] = u
        else
            idx.regex_uris[#idx.regex_uris + 1] = u
        end
        push(by[URI], u.value, vr)
    end
    for m in pairs(vr.methods) do
        idx.methods[m] = true
        push(by[METHOD], m, vr)
    end
    for s in pairs(vr.snis) do
        idx.snis[s] = true
        push(by[SNI], s, vr)
    end
end

-- vroutes: as marshalled; returns the router fields of this flavour.
function _M.build(vroutes)
    sort(vroutes, before)
    local idx = {
        hosts = {}, wild_hosts = {}, header_set = {}, header_names = {}, uris = {},
        prefix_uris = {}, regex_uris = {}, methods = {}, snis = {},
    }
    local categories, sorted = {}, {}
    for _, vr in ipairs(vroutes) do
        index(vr, idx, categories)
    end
    for _, c in pairs(categories) do sorted[#sorted + 1] = c end
    sort(sorted, function(a, b)
        if a.weight ~= b.weight then return a.weight > b.weight end
        return a.bit > b.bit
    end)
    local lookup = {}
    for i, c in ipairs(sorted) do lookup[c.bit] = i end
    -- longest prefix first (equal lengths cannot both be prefixes of a path
    -- unless equal); a stable order keeps the result deterministic
    for i, u in ipairs(idx.prefix_uris) do u.rank = i end
    sort(idx.prefix_uris, function(a, b)
        if #a.value ~= #b.value then return #a.value > #b.value end
        return a.rank < b.rank
    end)
    idx.header_set = nil
    return { vroutes = vroutes, idx = idx, categories = sorted, lookup = lookup }
end

return _M
