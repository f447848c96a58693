-- Runs Kong's router scenarios (kong_router_cases.lua) in every flavour
-- listed in FLAVORS: one test per request and flavour. A flavour plugs in
-- through ADAPTERS: how a request of the table becomes that flavour's input.
local router = require("kongpy.router")
local path = require("kongpy.path")
local eq = require("runner").eq
local SCENARIOS = require("kong_router_cases")

local FLAVORS = { "traditional", "traditional_compatible" }

local function split_host(h)
    local name, port = h:match("^(.-):(%d+)$")
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

local function build(routes, flavor)
    local services, list = { off = nil }, {}
    for i, r in ipairs(routes) do
        local route = {}
        for k, v in pairs(r) do route[k] = v end
        route.service_path, route.serviceless = nil, nil
        if not r.serviceless then
            local sid = "s" .. i
            services[sid] = { id = sid, path = r.service_path or "/" }
            route.service = { id = sid }
        end
        list[#list + 1] = route
    end
    return router.new(list, services, {}, flavor)
end

local function applies(flavors, flavor)
    if not flavors then return true end
    for _, f in ipairs(flavors) do
        if f == flavor then return true end
    end
    return false
end

local cases = {}
_G.KONG_ROUTER_COUNTS = {}
for _, flavor in ipairs(FLAVORS) do
    local adapter = ADAPTERS[flavor]
    for _, sc in ipairs(SCENARIOS) do
        local name, routes, requests = sc[1], sc[2], sc[3]
        if applies(sc.flavors, flavor) then
            for i, rq in ipairs(requests) do
                if applies(rq.flavors, flavor) then
                    local want = rq[2]
                    if type(want) == "table" then want = want[flavor] end
                    local label = ("[%s] %s #%d"):format(flavor, name, i)
                    cases[#cases + 1] = { label, function()
                        local rt = assert(build(routes, flavor))
                        eq(rt.flavor, flavor, "flavour")
                        local q = rq[1]
                        local npath = path.normalize(q.path)
                        local entry, prefix, captures = rt.find(rt, adapter(q, npath))
                        eq(entry and entry.id or false, want, q.path .. " " .. (q.host or ""))
                        if entry and (rq.upstream_path or rq.prefix) then
                            local res = router.result_for(entry, prefix, captures, npath)
                            if rq.upstream_path then
                                eq(res.upstream_path, rq.upstream_path, "upstream path")
                            end
                            if rq.prefix then
                                eq(res.prefix, rq.prefix, "prefix")
                            end
                        end
                    end }
                end
            end
        end
    end
end

return cases
