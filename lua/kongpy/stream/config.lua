-- Builds what stream workers serve from the stream snapshot (stream.json,
-- written by the control plane after every applied configuration): services
-- by id, upstreams by name with their targets, certificates by SNI, the
-- compiled routes and, per route, the plugins that run on its connections.
local cjson = require("cjson.safe")
local router = require("kongpy.stream.router")
local cidr = require("kongpy.tools.cidr")

local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local require = require
local tonumber = tonumber
local tostring = tostring
local match = string.match
local lower = string.lower
local find = string.find
local sort = table.sort
local null = cjson.null

local STREAM_FORMAT = 1
local ERR_FORMAT = "unsupported stream_format: "

local _M = {}

local function strip_nulls(v)
    if type(v) ~= "table" then
        return v
    end
    local out = {}
    for k, x in pairs(v) do
        if x ~= null then
            out[k] = strip_nulls(x)
        end
    end
    return out
end

local function id_of(ref)
    return type(ref) == "table" and ref.id or nil
end

-- "host:port", "[v6]:port": the address part and the port
local function split_target(target)
    local host, port = match(target, "^%[(.+)%]:(%d+)$")
    if not host then
        host, port = match(target, "^(.+):(%d+)$")
    end
    return host, tonumber(port)
end

function _M.is_ip(host)
    return type(host) == "string" and cidr.parse(host) ~= nil
end

-- The HTTP data plane's balancers (kongpy.balancers.*), over the targets
-- that are addresses (no DNS here); without health checks.
local BALANCERS = {
    ["round-robin"] = "kongpy.balancers.round_robin",
    ["least-connections"] = "kongpy.balancers.least_connections",
    ["consistent-hashing"] = "kongpy.balancers.consistent_hashing",
}

local function balancer_of(up, addresses)
    local name = BALANCERS[up.row.algorithm or "round-robin"]
    if not name then
        up.unsupported = up.row.algorithm
        return nil
    end
    local ch = require("kongpy.balancers.consistent_hashing")
    up.hash = ch.hash_spec(up.row)
    return require(name).new(up, addresses)
end

local function build_upstreams(doc, log)
    local by_id, by_name = {}, {}
    for _, row in ipairs(doc.upstreams or {}) do
        local up = { row = row, id = row.id, name = row.name, slots = tonumber(row.slots) or 10000,
                     addresses = {} }
        by_id[row.id], by_name[row.name] = up, up
    end
    for _, t in ipairs(doc.targets or {}) do
        local up = by_id[id_of(t.upstream)]
        local host, port = split_target(t.target or "")
        if up and _M.is_ip(host) then
            up.addresses[#up.addresses + 1] = {
                ip = host, port = port, weight = tonumber(t.weight) or 0,
                key = (find(host, ":", 1, true) and "[" .. host .. "]" or host) .. ":" .. port,
            }
        elseif up then
            log("target " .. tostring(t.target) .. " of upstream " .. tostring(up.name)
                .. " is a host name; stream upstreams take addresses: left out")
        end
    end
    for _, up in pairs(by_name) do
        up.balancer = balancer_of(up, up.addresses)
    end
    return by_name
end

local function pem_data(pem)
    if type(pem) ~= "string" or find(pem, "{vault://", 1, true) then
        -- a reference the stream workers cannot resolve: no certificate
        return nil
    end
    return "data:" .. pem
end

local function build_certificates(doc)
    local certs, exact, wild = {}, {}, {}
    for _, c in ipairs(doc.certificates or {}) do
        local cert, key = pem_data(c.cert), pem_data(c.key)
        certs[c.id] = { cert = cert, key = key, usable = cert ~= nil and key ~= nil }
    end
    for _, s in ipairs(doc.snis or {}) do
        local c = certs[id_of(s.certificate)]
        local name = lower(s.name or "")
        if c then
            local w = router.wildcard(name)
            if w then
                w.cert = c
                wild[#wild + 1] = w
            else
                exact[name] = c
            end
        end
    end
    return certs, exact, wild
end

local function load_handler(handlers, name)
    local h = handlers[name]
    if h == nil then
        local ok, mod = pcall(require, "kong.plugins." .. name .. ".handler")
        h = ok and type(mod) == "table" and mod or false
        handlers[name] = h
    end
    return h
end

-- Per route: the configuration of each plugin name that applies (route and
-- service > route > service > global), by PRIORITY.
local function route_plugins(rows, route_id, service_id, handlers)
    local best = {}
    for _, p in ipairs(rows) do
        local r, s = id_of(p.route), id_of(p.service)
        local rank
        if r and s then
            rank = (r == route_id and s == service_id) and 4 or nil
        elseif r then
            rank = r == route_id and 3 or nil
        elseif s then
            rank = s == service_id and 2 or nil
        else
            rank = 1
        end
        if rank and not id_of(p.consumer) then
            local cur = best[p.name]
            if not cur or cur.rank < rank then
                best[p.name] = { rank = rank, row = p }
            end
        end
    end
    local list = {}
    for name, b in pairs(best) do
        local h = load_handler(handlers, name)
        list[#list + 1] = {
            name = name, handler = h, conf = strip_nulls(b.row.config or {}),
            runnable = h and type(h.preread) == "function" or false,
            priority = h and tonumber(h.PRIORITY) or 0,
        }
    end
    sort(list, function(a, b)
        if a.priority ~= b.priority then
            return a.priority > b.priority
        end
        return a.name > b.name
    end)
    return list
end

-- Returns the state, or nil and an error (the caller keeps what it serves).
function _M.build(doc, handlers, log, flavor)
    if type(doc) ~= "table" or doc.stream_format ~= STREAM_FORMAT then
        return nil, ERR_FORMAT .. tostring(type(doc) == "table" and doc.stream_format)
    end
    local rt, err = router.build(doc.routes or {}, flavor)
    if not rt then
        return nil, err
    end
    local services = {}
    for _, s in ipairs(doc.services or {}) do
        services[s.id] = strip_nulls(s)
    end
    local enabled = {}
    for _, p in ipairs(doc.plugins or {}) do
        if p.enabled ~= false then
            enabled[#enabled + 1] = p
        end
    end
    for _, r in ipairs(rt.routes) do
        r.route = strip_nulls(r.row)
        r.service = services[id_of(r.row.service)]
        r.plugins = route_plugins(enabled, r.id, r.service and r.service.id, handlers)
    end
    local certs, exact, wild = build_certificates(doc)
    return {
        version = doc.version,
        router = rt,
        services = services,
        upstreams = build_upstreams(doc, log),
        certificates = certs,
        sni_exact = exact,
        sni_wild = wild,
    }
end

function _M.certificate_for(st, sni)
    if not sni then
        return nil
    end
    sni = lower(sni)
    local c = st.sni_exact[sni]
    if c then
        return c
    end
    for _, w in ipairs(st.sni_wild) do
        if router.wildcard_covers(w, sni) then
            return w.cert
        end
    end
    return nil
end

return _M
