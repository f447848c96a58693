-- Request matching of router_flavor = traditional over what
-- router_traditional.lua built (Kong's category search, quirks included:
-- the search starts at the category the plain indexes point to, and each
-- category tries its narrowed candidates before all of its routes).
local bit = require("bit")

local re_match = ngx.re.match
local re_find = ngx.re.find

local type = type
local ipairs = ipairs
local lower = string.lower
local sub = string.sub
local byte = string.byte
local find = string.find
local band, bor = bit.band, bit.bor

local HOST, HEADER, URI, METHOD, SNI = 0x40, 0x20, 0x10, 0x08, 0x04
local EMPTY = {}
local LBRACKET, RBRACKET = byte("["), byte("]")

local _M = {}

local function wildcard_matches(w, host, port)
    if w.port and w.port ~= port then
        return false
    end
    local v = w.suffix or w.prefix
    if #host <= #v then
        return false
    end
    if w.suffix then
        return sub(host, -#v) == v
    end
    return sub(host, 1, #v) == v
end

local function header_value_matches(h, value)
    value = lower(value)
    if h.values[value] then
        return true
    end
    return h.pattern ~= nil and re_find(value, h.pattern, "jo") ~= nil
end

local function headers_match(vr, req_headers)
    for _, h in ipairs(vr.headers) do
        local value = req_headers[h.name]
        local found = false
        if type(value) == "table" then
            for _, v in ipairs(value) do
                if header_value_matches(h, v) then
                    found = true
                    break
                end
            end
        elseif value then
            found = header_value_matches(h, value)
        end
        if not found then
            return false
        end
    end
    return true
end

local function hosts_match(vr, q)
    local plain = vr.plain_hosts
    if plain[q.hit_host or q.raw_host] or plain[q.host] then
        return true
    end
    for _, w in ipairs(vr.wild_hosts) do
        if wildcard_matches(w, q.host, q.port) then
            return true
        end
    end
    return false
end

-- Returns the matched prefix and the captures, or nil.
local function uri_match(u, q)
    local path = q.path
    if path == "" then
        return nil
    end
    if u.prefix then
        if sub(path, 1, #u.value) == u.value then
            return u.value
        end
        return nil
    end
    local m = re_match(path, u.strip_regex, "ajo")
    if m then
        local postfix = m.uri_postfix
        m.uri_postfix = nil
        m[#m] = nil
        local prefix = postfix and sub(path, 1, #path - #postfix) or ""
        m[0] = prefix
        return prefix, m[1] ~= nil and m or nil
    end
    -- Kong treats the indexed hit as a prefix even when its regex fails
    if u.value == (q.hit_uri or path) then
        return sub(path, 1, #u.value)
    end
    return nil
end

local function vroute_match(vr, q)
    local rules = vr.rules
    if band(rules, METHOD) ~= 0 and not vr.methods[q.method] then return nil end
    if band(rules, HOST) ~= 0 and not hosts_match(vr, q) then return nil end
    if band(rules, HEADER) ~= 0 and not headers_match(vr, q.headers) then return nil end
    -- plain HTTP ignores snis
    if band(rules, SNI) ~= 0 and q.https and not vr.snis[q.sni] then return nil end
    if vr.uri then
        return uri_match(vr.uri, q)
    end
    return "", nil
end

local function first_match(list, q)
    for _, vr in ipairs(list) do
        local prefix, captures = vroute_match(vr, q)
        if prefix then
            return vr, prefix, captures
        end
    end
    return nil
end

local function narrowed(c, q)
    local by, best = c.by, nil
    local keys = {
        [HOST] = q.hit_host or q.raw_host, [HEADER] = q.hit_header, [URI] = q.hit_uri,
        [METHOD] = q.method, [SNI] = q.sni,
    }
    for _, rule in ipairs({ HOST, HEADER, URI, METHOD, SNI }) do
        if band(c.bit, rule) ~= 0 then
            local key = keys[rule]
            local list = key and by[rule][key]
            if list then
                if rule == HEADER then
                    return list
                end
                if not best or #list < #best then
                    best = list
                end
            end
        end
    end
    return best
end

-- The category the request might target, from the plain indexes.
local function request_category(idx, q)
    local cat = 0
    for _, name in ipairs(idx.header_names) do
        if q.headers[name] then
            q.hit_header = name
            cat = bor(cat, HEADER)
            break
        end
    end
    if q.raw_host ~= "" then
        if idx.hosts[q.host_port] or idx.hosts[q.host] then
            cat = bor(cat, HOST)
        else
            for _, w in ipairs(idx.wild_hosts) do
                if wildcard_matches(w, q.host, q.port) then
                    q.hit_host = w.value
                    cat = bor(cat, HOST)
                    break
                end
            end
        end
    end
    local path = q.path
    for _, u in ipairs(idx.regex_uris) do
        if re_find(path, u.regex, "ajo") then
            q.hit_uri = u.value
            cat = bor(cat, URI)
            break
        end
    end
    if not q.hit_uri then
        if idx.uris[path] then
            q.hit_uri = path
            cat = bor(cat, URI)
        else
            for _, u in ipairs(idx.prefix_uris) do
                if sub(path, 1, #u.value) == u.value then
                    q.hit_uri = u.value
                    cat = bor(cat, URI)
                    break
                end
            end
        end
    end
    if idx.methods[q.method] then cat = bor(cat, METHOD) end
    if idx.snis[q.sni] then cat = bor(cat, SNI) end
    return cat
end

-- req = {method, host (no port), host_port (the Host header's port, nil
-- without one), path (normalised), headers, sni, https}.
function _M.find(rt, req)
    local host = req.host or ""
    local https = req.https or false
    -- an IPv6 literal: route hosts name it without brackets ("::1") or with
    -- them ("[::1]", "[::1]:80"), as Kong's split_port reads them
    local bracketed = byte(host, 1) == LBRACKET and byte(host, -1) == RBRACKET
    local name = bracketed and sub(host, 2, -2) or host
    local q = {
        method = req.method or "", host = name, path = req.path or "",
        headers = req.headers or EMPTY, sni = req.sni or "", https = https,
        -- without a port in Host, Kong assumes the scheme's default port
        port = req.host_port or (https and 443 or 80),
    }
    q.raw_host = req.host_port and (host .. ":" .. req.host_port) or host
    -- Kong's host_with_port: the default port added, brackets kept
    q.host_port = (bracketed and host or name) .. ":" .. q.port
    if not bracketed and find(name, ":", 1, true) then
        q.host_port = "[" .. name .. "]:" .. q.port
    end
    local cat = request_category(rt.idx, q)
    if cat == 0 then
        return nil
    end
    local categories = rt.categories
    for i = rt.lookup[cat] or 1, #categories do
        local c = categories[i]
        local list = narrowed(c, q)
        local vr, prefix, captures
        if list then
            vr, prefix, captures = first_match(list, q)
        end
        if not vr then
            vr, prefix, captures = first_match(c.all, q)
        end
        if vr then
            return vr.entry, prefix, captures
        end
    end
    return nil
end

return _M
