-- kongpy.router_update: a router changed route by route matches every
-- request as the router built from scratch over the same routes does, and
-- the router it was changed from keeps matching as before.
local router = require("kongpy.router")
local eq = require("runner").eq

local SERVICES = { s1 = { id = "s1", path = "/" }, s2 = { id = "s2", path = "/b" } }
local PATHS = { "/", "/a", "/a/b", "/b", "/c/d", "~/a/\\d+$", "~/b/(x|y)", "~^/c/" }
local HOSTS = { "a.test", "*.test", "b.test:8000", "c.*", "x.test" }
local REQ_PATHS = { "/", "/a", "/a/1", "/a/b/c", "/b/x", "/b/z", "/c/d/e", "/zzz" }
local REQ_HOSTS = { "a.test", "x.test", "b.test", "c.com", "other.org" }

local function some(rnd, pool, max)
    local out, seen = {}, {}
    for _ = 1, rnd(max) do
        local v = pool[rnd(#pool)]
        if not seen[v] then
            seen[v] = true
            out[#out + 1] = v
        end
    end
    return out
end

local function make_route(rnd, id)
    local r = { id = id, service = { id = rnd(2) == 1 and "s1" or "s2" },
                regex_priority = rnd(4) - 1, strip_path = true }
    if rnd(5) > 1 then r.paths = some(rnd, PATHS, 3) end
    if rnd(3) == 1 then r.hosts = some(rnd, HOSTS, 2) end
    if rnd(4) == 1 then r.methods = { rnd(2) == 1 and "GET" or "POST" } end
    if rnd(6) == 1 then r.headers = { ["x-v"] = { "1" } } end
    if not (r.paths or r.hosts or r.methods or r.headers) then r.paths = { "/" } end
    return r
end

local function requests()
    local out = {}
    for _, p in ipairs(REQ_PATHS) do
        for _, h in ipairs(REQ_HOSTS) do
            for _, m in ipairs({ "GET", "POST" }) do
                for _, hd in ipairs({ {}, { ["x-v"] = "1" } }) do
                    out[#out + 1] = { method = m, host = h, port = h == "b.test" and 8000 or 80,
                                      path = p, headers = hd, https = false }
                end
            end
        end
    end
    return out
end

local function answer(rt, req)
    local entry, prefix, captures = router.find(rt, req)
    return (entry and entry.id or "-") .. " " .. tostring(prefix) .. " "
           .. tostring(captures and captures[0])
end

local function same(a, full, reqs, what)
    for _, req in ipairs(reqs) do
        eq(answer(a, req), answer(full, req),
           what .. " " .. req.method .. " " .. req.host .. req.path)
    end
end

local function list(routes)
    local out = {}
    for _, r in pairs(routes) do out[#out + 1] = r end
    table.sort(out, function(a, b) return a.id < b.id end)
    return out
end

local function run(flavor)
    local seed = 7
    local function rnd(n)
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n + 1
    end
    local routes, next_id = {}, 0
    for _ = 1, 40 do
        next_id = next_id + 1
        local id = ("r%03d"):format(next_id)
        routes[id] = make_route(rnd, id)
    end
    local reqs = requests()
    local rt = assert(router.new(list(routes), SERVICES, {}, flavor))
    for step = 1, 80 do
        local before = rt
        local before_full = assert(router.new(list(routes), SERVICES, {}, flavor))
        local ids = list(routes)
        local op = rnd(3)
        local upserts, deletes = {}, {}
        if op == 1 or #ids < 5 then
            next_id = next_id + 1
            local id = ("r%03d"):format(next_id)
            routes[id] = make_route(rnd, id)
            upserts[1] = routes[id]
        elseif op == 2 then
            local id = ids[rnd(#ids)].id
            routes[id] = make_route(rnd, id)
            upserts[1] = routes[id]
        else
            local id = ids[rnd(#ids)].id
            routes[id] = nil
            deletes[1] = id
        end
        local err
        rt, err = router.update(before, upserts, deletes)
        assert(rt, "step " .. step .. ": no incremental router: " .. tostring(err))
        local full = assert(router.new(list(routes), SERVICES, {}, flavor))
        same(rt, full, reqs, flavor .. " step " .. step)
        same(before, before_full, reqs, flavor .. " previous router, step " .. step)
    end
end

return {
    { "changed route by route, traditional_compatible", function()
        run("traditional_compatible")
    end },
    { "changed route by route, expressions flavour (routes without expressions)", function()
        run("expressions")
    end },
    { "traditional flavour: built again", function()
        local rt = assert(router.new({ { id = "r1", paths = { "/" } } }, SERVICES, {},
                                     "traditional"))
        eq(router.update(rt, { { id = "r2", paths = { "/a" } } }, {}), nil, "update")
    end },
    { "a route the router refuses fails the change", function()
        local rt = assert(router.new({ { id = "r1", paths = { "/" } } }, SERVICES, {}))
        local new, err = router.update(rt, { { id = "r2", paths = { "~/(a" } } }, {})
        eq(new, nil, "router")
        assert(err and err:find("r2", 1, true), tostring(err))
    end },
}
