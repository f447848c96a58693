-- The runner's cache of resolved plugin lists (per scheme, route, service
-- and consumer): answers stay those of Kong's precedence, also once more
-- request shapes were seen than the cache keeps and it starts over.
local runner = require("kongpy.runner")
local eq = require("runner").eq

local cases = {}

local PLUGIN = "file-log"   -- a plugin with a log phase only: access collects it
local ROUTES = 2500         -- more shapes than the cache keeps

local function instances()
    local plugins = {
        global = { id = "p-global", name = PLUGIN, enabled = true, protocols = { "http" },
                   config = { path = "/dev/null" } },
    }
    -- every third route has its own instance
    for i = 1, ROUTES, 3 do
        plugins["p" .. i] = { id = "p" .. i, name = PLUGIN, enabled = true,
                              protocols = { "http" }, route = { id = "r" .. i },
                              config = { path = "/dev/null" } }
    end
    return plugins
end

local function collected_id(ps, route)
    local ctx = {}
    runner.access(ctx, ps, "http", route, "s1")
    local list = ctx.kongpy_collected
    return list and #list == 1 and list[1].id or tostring(list)
end

cases[#cases + 1] = { "precedence across a cache that starts over", function()
    runner.init({ PLUGIN })
    local ps = assert(runner.build(1, { plugins = instances() }))
    for round = 1, 2 do
        for i = 1, ROUTES do
            local want = (i - 1) % 3 == 0 and ("p" .. i) or "p-global"
            eq(collected_id(ps, "r" .. i), want, "round " .. round .. ", route r" .. i)
        end
    end
    eq(collected_id(ps, "r1"), "p1", "first route again")
end }

return cases
