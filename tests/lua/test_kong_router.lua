-- Runs Kong's router scenarios (kong_router_*cases.lua) in every flavour
-- listed in FLAVORS: one test per request and flavour. A flavour plugs in
-- through ADAPTERS: how a request of the table becomes that flavour's input;
-- the stream scenarios go through kongpy.stream.router the same way.
local router = require("kongpy.router")
local stream_router = require("kongpy.stream.router")
local path = require("kongpy.path")
local eq = require("runner").eq

local SOURCES = { "kong_router_cases", "kong_router_unit_cases", "kong_router_proxy_cases",
                  "kong_router_path_cases" }
local FLAVORS = { "traditional", "traditional_compatible", "expressions" }
-- In the expressions flavour, routes without an expression are compiled as
-- traditional_compatible (Kong runs its router scenarios there too): the
-- tables' traditional_compatible data applies.
local DATA_FLAVOR = { expressions = "traditional_compatible" }

-- Kong's split_port: "[::1]:80" -> "[::1]", 80; "::1" -> "::1"; "a.test:80"
-- -> "a.test", 80 (nginx's $host keeps the brackets of an IPv6 literal).
local function split_host(h)
    local name, port = h:match("^(%[.*%]):(%d+)$")
    if not name and not h:find(":.*:") then
        name, port = h:match("^(.-):(%d+)$")
    end
    if name then
        return name:lower(), tonumber(port)
    end
    return h:lower(), nil
end

local function lower_keys(headers)
    local out = {}
    for k, v in pairs(headers or {}) do
        out[k:lower():gsub("_", "-")] = v
        out[k:lower()] = v
    end
    return out
end

-- What router.exec hands each flavour's find (router.lua).
local ADAPTERS = {
    traditional = function(q, npath)
        local host, port = split_host(q.host or "")
        return { method = q.method or "GET", host = host, host_port = port, path = npath,
                 headers = lower_keys(q.headers), sni = q.sni, https = q.scheme == "https" }
    end,
    traditional_compatible = function(q, npath)
        local host, port = split_host(q.host or "")
        local https = q.scheme == "https"
        return { method = q.method or "GET", host = host, port = port or (https and 443 or 80),
                 path = npath, headers = lower_keys(q.headers), sni = q.sni, https = https }
    end,
}
ADAPTERS.expressions = ADAPTERS.traditional_compatible

local function build(routes, flavor)
    local services, disabled, list = {}, {}, {}
    for i, r in ipairs(routes) do
        local route = {}
        for k, v in pairs(r) do route[k] = v end
        route.service_path, route.serviceless, route.service_enabled = nil, nil, nil
        if not r.serviceless then
            local sid = "s" .. i
            if r.service_enabled == false then
                disabled[sid] = true
            else
                services[sid] = { id = sid, path = r.service_path or "/" }
            end
            route.service = { id = sid }
        end
        list[#list + 1] = route
    end
    return router.new(list, services, disabled, flavor)
end

local function applies(flavors, flavor)
    if not flavors then return true end
    flavor = DATA_FLAVOR[flavor] or flavor
    for _, f in ipairs(flavors) do
        if f == flavor then return true end
    end
    return false
end

local function per_flavor(v, flavor)
    if type(v) == "table" then return v[DATA_FLAVOR[flavor] or flavor] end
    return v
end

local function check_captures(got, want)
    if want == false then
        eq(got, nil, "captures")
        return
    end
    eq(type(got), "table", "captures")
    for k, v in pairs(want) do
        eq(got[k], v, "capture " .. tostring(k))
    end
end

local function check_result(rq, entry, prefix, captures, npath, flavor)
    local want_path, want_prefix = per_flavor(rq.upstream_path, flavor), rq.prefix
    if want_path == nil and want_prefix == nil and rq.captures == nil then
        return
    end
    local res = router.result_for(entry, prefix, captures, npath)
    if want_path then
        eq(res.upstream_path, want_path, "upstream path")
    end
    if want_prefix ~= nil then
        eq(res.prefix or false, want_prefix, "prefix")
    end
    if rq.captures ~= nil then
        check_captures(res.captures, rq.captures)
    end
end

local cases = {}

local function add_http(flavor, name, sc)
    local adapter = ADAPTERS[flavor]
    for i, rq in ipairs(sc[3]) do
        if applies(rq.flavors, flavor) then
            local label = ("[%s] %s #%d"):format(flavor, name, i)
            cases[#cases + 1] = { label, function()
                local rt = assert(build(sc[2], flavor))
                eq(rt.flavor, flavor, "flavour")
                local q = rq[1]
                local npath = rq.raw and q.path or path.normalize(q.path)
                local entry, prefix, captures = rt.find(rt, adapter(q, npath))
                eq(entry and entry.id or false, per_flavor(rq[2], flavor),
                   q.path .. " " .. (q.host or ""))
                if entry then
                    check_result(rq, entry, prefix, captures, npath, flavor)
                end
            end }
        end
    end
end

for _, flavor in ipairs(FLAVORS) do
    for _, source in ipairs(SOURCES) do
        for _, sc in ipairs(require(source)) do
            if applies(sc.flavors, flavor) then
                add_http(flavor, sc[1], sc)
            end
        end
    end
    for _, sc in ipairs(require("kong_router_stream_cases")) do
        for i, rq in ipairs(sc[3]) do
            cases[#cases + 1] = { ("[%s] %s #%d"):format(flavor, sc[1], i), function()
                local rt = assert(stream_router.build(sc[2], flavor))
                local r = stream_router.match(rt, rq[1])
                eq(r and r.id or false, per_flavor(rq[2], flavor), "stream route")
            end }
        end
    end
end

return cases
