-- traditional_compatible matching over the compiled virtual routes (the
-- traditional flavour's matcher is router_traditional_match.lua, chosen when
-- the router is built), with a per-worker LRU of results keyed by the
-- request attributes routes use.
local lrucache = require("resty.lrucache")
local build = require("kongpy.router_build")
local router_index = require("kongpy.router_index")
local router_update = require("kongpy.router_update")
local traditional = require("kongpy.router_traditional_match")
local path = require("kongpy.path")
local settings = require("kongpy.settings")
local expr_fields = require("kongpy.expressions.http")

local re_match = ngx.re.match
local re_find = ngx.re.find
local get_method = ngx.req.get_method
local get_headers = ngx.req.get_headers

local type = type
local ipairs = ipairs
local pairs = pairs
local concat = table.concat
local lower = string.lower
local sub = string.sub
local find = string.find
local match = string.match
local tonumber = tonumber

local HOST_EXACT, HOST_SUFFIX = build.HOST_EXACT, build.HOST_SUFFIX
local CACHE_SIZE = 10000
local SEP = "\0"

local _M = {}

local function match_hosts(hosts, host, port)
    for _, h in ipairs(hosts) do
        if not h.port or h.port == port then
            local kind, value = h.kind, h.value
            if kind == HOST_EXACT then
                if host == value then return true end
            elseif kind == HOST_SUFFIX then
                if #host > #value and sub(host, -#value) == value then return true end
            elseif #host > #value and sub(host, 1, #value) == value then
                return true
            end
        end
    end
    return false
end

local function match_snis(vr, sni)
    if vr.snis[sni] then
        return true
    end
    local list = vr.sni_suffixes
    if list then
        for i = 1, #list do
            local v = list[i]
            if #sni > #v and sub(sni, -#v) == v then return true end
        end
    end
    list = vr.sni_prefixes
    if list then
        for i = 1, #list do
            local v = list[i]
            if #sni > #v and sub(sni, 1, #v) == v then return true end
        end
    end
    return false
end

local function header_matches(h, value)
    if type(value) == "table" then
        for _, v in ipairs(value) do
            if header_matches(h, v) then return true end
        end
        return false
    end
    value = lower(value)
    if h.values[value] then
        return true
    end
    if h.regexes then
        for _, rx in ipairs(h.regexes) do
            if re_find(value, rx, "jo") then return true end
        end
    end
    return false
end

local function match_headers(headers, req_headers)
    for _, h in ipairs(headers) do
        local value = req_headers[h.name]
        if value == nil or not header_matches(h, value) then
            return false
        end
    end
    return true
end

-- Returns the matched prefix ("" when the route has no paths) and captures.
local function match_vroute(vr, req)
    local expr = vr.expr
    if expr then
        local ctx = req.expr_ctx
        if not ctx then
            ctx = expr_fields.context(req)
            req.expr_ctx = ctx
        end
        ctx.path_match, ctx.captures = nil, nil
        if expr(ctx) then
            return ctx.path_match or "", ctx.captures
        end
        return nil
    end
    if vr.methods and not vr.methods[req.method] then return nil end
    if vr.hosts and not match_hosts(vr.hosts, req.host, req.port) then return nil end
    local prefix, captures = "", nil
    if vr.prefixes then
        local p = req.path
        prefix = nil
        for _, pre in ipairs(vr.prefixes) do
            if sub(p, 1, #pre) == pre then
                prefix = pre
                break
            end
        end
        if not prefix then return nil end
    elseif vr.regexes then
        for _, rx in ipairs(vr.regexes) do
            local m = re_match(req.path, rx, "ajo")
            if m then
                prefix, captures = m[0], m
                break
            end
        end
        if not captures then return nil end
    end
    if vr.headers and not match_headers(vr.headers, req.headers) then return nil end
    -- snis only constrain TLS requests (plain HTTP ignores them, as Kong does).
    if vr.snis and req.https and not match_snis(vr, req.sni or "") then return nil end
    return prefix, captures
end

-- Pure matching: req = {method, host, port, path (normalised), headers, sni, https}.
function _M.find(rt, req)
    local candidates = router_index.candidates(rt.index, req.path or "", req.host)
    for _, vr in ipairs(candidates) do
        local prefix, captures = match_vroute(vr, req)
        if prefix then
            return vr.entry, prefix, captures
        end
    end
    return nil
end

local function result_for(entry, prefix, captures, npath)
    local service = entry.service
    local strip = entry.strip_path and prefix ~= ""
    local res = {
        entry = entry,
        route = entry.route,
        service = service,
        -- Kong hands out captures only when the regex has groups
        captures = captures and captures[1] ~= nil and captures or nil,
        path = npath,
        -- X-Forwarded-Prefix: what strip_path removed, unless that was "/".
        prefix = (strip and prefix ~= "/") and prefix or nil,
    }
    if service then
        local up = path.upstream_path(entry.path_handling, service.path, strip, prefix, npath)
        res.upstream_path = path.escape(up)
    end
    return res
end
_M.result_for = result_for

local exec_compatible, exec_traditional

local function ready(rt, services_by_id, disabled)
    -- what kongpy.router_update builds a changed router with
    rt.services_by_id, rt.disabled = services_by_id, disabled
    if rt.flavor == "traditional" then
        rt.find, rt.exec = traditional.find, exec_traditional
    else
        rt.find, rt.exec = _M.find, exec_compatible
    end
    rt.cache = lrucache.new(CACHE_SIZE)
    if rt.has_expressions then
        rt.cache_tls = lrucache.new(CACHE_SIZE)
    end
    return rt
end

-- flavor: the node's router_flavor (settings) unless given.
function _M.new(routes, services_by_id, disabled, flavor)
    flavor = flavor or settings.router_flavor
    local rt, err = build.build(routes, services_by_id, disabled, flavor)
    if not rt then
        return nil, err
    end
    return ready(rt, services_by_id, disabled)
end

-- `rt` with a few routes changed (upserts: rows, deletes: ids), its services
-- unchanged; nil when it takes a full build (kongpy.router_update), nil, err
-- for a route the router refuses. `rt` is left untouched.
function _M.update(rt, upserts, deletes)
    local new, err = router_update.update(rt, upserts, deletes, rt.services_by_id, rt.disabled)
    if not new then
        return nil, err
    end
    return ready(new, rt.services_by_id, rt.disabled)
end

-- The traditional flavour reads the Host header as sent: a route host with a
-- port only matches when the header names that port, and a wildcard host
-- with a port compares it with the scheme's default port otherwise.
exec_traditional = function(rt, var, method, host, raw_path, qpos, request_uri, https)
    local hp = var.http_host
    local host_port = hp and tonumber(match(hp, ":(%d+)$"))
    local headers
    local parts = { method, host, raw_path, host_port or "", https and "s" or "" }
    local names = rt.idx.header_names
    if #names > 0 then
        headers = get_headers()
        local n = #parts
        for i, name in ipairs(names) do
            local v = headers[name]
            if type(v) == "table" then v = concat(v, SEP) end
            parts[n + i] = v or ""
        end
    end
    local sni = https and var.ssl_server_name
    if sni then
        sni = lower(sni)
        parts[#parts + 1] = sni
    end
    local key = concat(parts, SEP .. SEP)
    local cache = rt.cache
    local res = cache:get(key)
    if res ~= nil then
        return res or nil, qpos, request_uri
    end
    local npath = path.normalize(raw_path)
    local entry, prefix, captures = traditional.find(rt, {
        method = method, host = host, host_port = host_port, path = npath,
        headers = headers, sni = sni, https = https,
    })
    res = entry and result_for(entry, prefix, captures, npath) or false
    cache:set(key, res)
    return res or nil, qpos, request_uri
end

-- The request's cache key holds only attributes some route looks at.
function _M.exec(rt, var, scheme)
    local method = get_method()
    local host = var.host
    local request_uri = var.request_uri
    local qpos = find(request_uri, "?", 2, true)
    local raw_path = qpos and sub(request_uri, 1, qpos - 1) or request_uri
    return rt.exec(rt, var, method, host, raw_path, qpos, request_uri, scheme == "https")
end

exec_compatible = function(rt, var, method, host, raw_path, qpos, request_uri, https)
    local key = method .. SEP .. host .. SEP .. raw_path
    local port, headers, sni
    if rt.uses_port then
        -- Kong's net.dst.port: the port the Host header names, else the
        -- port the client reached (port_maps: ctx.host_port)
        local hp = var.http_host
        port = hp and tonumber(match(hp, "^[^:]+:(%d+)$"))
        if not port then
            local server_port = var.server_port
            port = settings.host_ports[server_port] or tonumber(server_port)
        end
        key = key .. SEP .. port
    end
    if rt.uses_headers then
        headers = get_headers()
        local parts = { key }
        for i, name in ipairs(rt.header_names) do
            local v = headers[name]
            if type(v) == "table" then v = concat(v, SEP) end
            parts[i + 1] = v or ""
        end
        key = concat(parts, SEP .. SEP)
    end
    if rt.uses_snis and https then
        sni = var.ssl_server_name
        key = key .. SEP .. "sni=" .. (sni or "")
    end
    local extra
    local cache = rt.cache
    if rt.has_expressions then
        -- expressions read net.protocol (Kong's protocol guard): TLS
        -- requests have a cache of their own
        if https then
            cache = rt.cache_tls
        end
        if rt.expr_extra then
            key, extra = expr_fields.cache_key(rt, var, key, headers,
                                               qpos and sub(request_uri, qpos))
        end
    end
    local res = cache:get(key)
    if res ~= nil then
        return res or nil, qpos, request_uri
    end
    local npath = path.normalize(raw_path)
    local req = {
        method = method, host = host, port = port, path = npath,
        headers = headers, sni = sni and lower(sni), https = https,
    }
    if extra then
        for k, v in pairs(extra) do req[k] = v end
    end
    local entry, prefix, captures = _M.find(rt, req)
    res = entry and result_for(entry, prefix, captures, npath) or false
    cache:set(key, res)
    return res or nil, qpos, request_uri
end

return _M
