-- The candidate index must never change which route wins: indexed matching is
-- checked against a plain scan over every virtual route, on a generated set.
local router = require("kongpy.router")
local router_index = require("kongpy.router_index")
local eq = require("runner").eq

local SERVICES = { s1 = { id = "s1", path = "/" } }

local cases = {}

local HEADS = {
    { [[/users/(\d+)]], "/users/" },
    { [[/users/\d+]], "/users/" },
    { "/ab?c", "/a" },
    { "/ab*", "/a" },
    { "/ab{2}", "/a" },
    { "/ab+", "/ab" },
    { "/a|/b", "" },
    { "(?i)/a", "" },
    { "/v1.0/x", "/v1" },
    { "/plain", "/plain" },
}

cases[#cases + 1] = { "literal heads of regex paths", function()
    for _, c in ipairs(HEADS) do
        eq(router_index.literal_head(c[1]), c[2], c[1])
    end
end }

local function scan(rt, req)
    -- what the router did before it had an index: every vroute in order
    local saved = rt.index
    rt.index = { by_len = {}, lens = {}, by_host = {}, always = rt.vroutes }
    local entry, prefix = router.find(rt, req)
    rt.index = saved
    return entry, prefix
end

local function generated_routes()
    local routes = {}
    local function add(id, fields)
        fields.id = id
        fields.service = { id = "s1" }
        routes[#routes + 1] = fields
    end
    for i = 1, 300 do
        add(("p%03d"):format(i), { paths = { "/api/v" .. (i % 7) .. "/res" .. i } })
    end
    for i = 1, 60 do
        add(("x%03d"):format(i), {
            paths = { "~/api/v" .. (i % 7) .. [[/res\d+/item]] .. i .. "$" },
            regex_priority = i % 3,
        })
    end
    for i = 1, 40 do
        add(("h%03d"):format(i), { hosts = { "host" .. i .. ".test" } })
        add(("w%03d"):format(i), { hosts = { "*.w" .. i .. ".test" }, paths = { "/api" } })
    end
    add("m1", { paths = { "/api/v1" }, methods = { "POST" } })
    add("any", { paths = { "~/(a|b)pi/" } })
    add("root", { paths = { "/" } })
    return routes
end

cases[#cases + 1] = { "indexed matching equals a full scan", function()
    local rt = assert(router.new(generated_routes(), SERVICES, {}))
    local checked = 0
    for i = 1, 400 do
        local path = ({
            "/api/v" .. (i % 7) .. "/res" .. (i % 320),
            "/api/v" .. (i % 7) .. "/res" .. i .. "/item" .. (i % 61),
            "/bpi/" .. i,
            "/api/v1/x",
            "/nothing/" .. i,
        })[i % 5 + 1]
        local host = ({ "host" .. (i % 45) .. ".test", "a.w" .. (i % 45) .. ".test",
                        "other.test" })[i % 3 + 1]
        local req = { method = (i % 4 == 0) and "POST" or "GET", host = host, port = 8000,
                      path = path, headers = {}, https = false }
        local want, want_prefix = scan(rt, req)
        local got, got_prefix = router.find(rt, req)
        eq(got and got.id, want and want.id, host .. path)
        eq(got_prefix, want_prefix, "prefix of " .. host .. path)
        checked = checked + 1
    end
    eq(checked, 400, "requests checked")
end }

return cases
