-- The traditional_compatible router (kong-reference 3.2, 3.3): each scenario
-- is a route set and requests with the route id each must select.
local router = require("kongpy.router")
local eq = require("runner").eq

local SERVICES = {
    s1 = { id = "s1", path = "/" },
    s2 = { id = "s2", path = "/base" },
}

local function R(id, fields)
    fields.id = id
    if fields.service == nil then
        fields.service = { id = "s1" }
    elseif fields.service == false then
        fields.service = nil
    end
    return fields
end

local function Q(fields)
    return {
        method = fields.method or "GET",
        host = fields.host or "example.com",
        port = fields.port or 8000,
        path = fields.path or "/",
        headers = fields.headers or {},
        sni = fields.sni,
        https = fields.https or false,
    }
end

local SCENARIOS = {
    { "more attribute kinds win", {
        R("r1", { paths = { "/" } }),
        R("r2", { paths = { "/" }, methods = { "GET" } }),
    }, {
        { Q { path = "/x" }, "r2" },
        { Q { path = "/x", method = "POST" }, "r1" },
    } },
    { "plain hosts beat wildcard hosts", {
        R("r1", { hosts = { "*.x.com" }, paths = { "/a" } }),
        R("r2", { hosts = { "a.x.com" }, paths = { "/a" } }),
    }, {
        { Q { host = "a.x.com", path = "/a" }, "r2" },
        { Q { host = "b.x.com", path = "/a" }, "r1" },
    } },
    { "plain host bit outranks header count and regex", {
        R("r1", { hosts = { "*.x.com" }, paths = { "~/a" } }),
        R("r2", { hosts = { "a.x.com" }, paths = { "/a" } }),
    }, {
        { Q { host = "a.x.com", path = "/a" }, "r2" },
    } },
    { "more headers win", {
        R("r1", { headers = { a = { "1" } }, paths = { "/" } }),
        R("r2", { headers = { a = { "1" }, b = { "2" } }, paths = { "/" } }),
    }, {
        { Q { headers = { a = "1", b = "2" } }, "r2" },
        { Q { headers = { a = "1" } }, "r1" },
    } },
    { "header count outranks the regex bit (compatible flavor)", {
        R("r1", { headers = { h = { "v" } }, paths = { "~/x" } }),
        R("r2", { headers = { h = { "v" }, g = { "w" } }, paths = { "/x" } }),
    }, {
        { Q { path = "/x", headers = { h = "v", g = "w" } }, "r2" },
    } },
    { "regex paths beat prefix paths", {
        R("r1", { paths = { "/foo/bar" } }),
        R("r2", { paths = { "~/foo" } }),
    }, {
        { Q { path = "/foo/bar" }, "r2" },
    } },
    { "regex_priority orders regex routes", {
        R("r1", { paths = { "~/a" }, regex_priority = 0 }),
        R("r2", { paths = { "~/a.*" }, regex_priority = 5 }),
        R("r3", { paths = { "~/b" }, regex_priority = -1 }),
        R("r4", { paths = { "~/b.*" }, regex_priority = 0 }),
    }, {
        { Q { path = "/abc" }, "r2" },
        { Q { path = "/bcd" }, "r4" },
    } },
    { "regex_priority is ignored for prefix paths", {
        R("r1", { paths = { "/a" }, regex_priority = 100 }),
        R("r2", { paths = { "/ab" }, regex_priority = 0 }),
    }, {
        { Q { path = "/abc" }, "r2" },
        { Q { path = "/ac" }, "r1" },
    } },
    { "longer prefix wins", {
        R("r1", { paths = { "/a" } }),
        R("r2", { paths = { "/ab" } }),
        R("r3", { paths = { "/" } }),
    }, {
        { Q { path = "/abc" }, "r2" },
        { Q { path = "/ac" }, "r1" },
        { Q { path = "/zz" }, "r3" },
    } },
    { "a route competes once per prefix length", {
        R("r1", { paths = { "/a", "/abcd" } }),
        R("r2", { paths = { "/abc" } }),
    }, {
        { Q { path = "/abcde" }, "r1" },
        { Q { path = "/abcX" }, "r2" },
        { Q { path = "/aX" }, "r1" },
    } },
    { "prefix paths are plain string prefixes", {
        R("r1", { paths = { "/foo" } }),
    }, {
        { Q { path = "/foobar" }, "r1" },
        { Q { path = "/fo" }, nil },
    } },
    { "regex paths are anchored at the start only", {
        R("r1", { paths = { "~/b" } }),
        R("r2", { paths = { [[~/items/\d+$]] } }),
    }, {
        { Q { path = "/a/b" }, nil },
        { Q { path = "/bcd" }, "r1" },
        { Q { path = "/items/12" }, "r2" },
        { Q { path = "/items/12/x" }, nil },
    } },
    { "wildcard hosts", {
        R("r1", { hosts = { "*.x.com" } }),
        R("r2", { hosts = { "x.*" } }),
    }, {
        { Q { host = "a.x.com" }, "r1" },
        { Q { host = "a.b.x.com" }, "r1" },
        { Q { host = "x.com" }, "r2" },
        { Q { host = "x.org" }, "r2" },
        { Q { host = "x.co.uk" }, "r2" },
        { Q { host = "y.x.org" }, nil },
    } },
    { "hosts with ports match the listening port", {
        R("r1", { hosts = { "x.com:8000" } }),
        R("r2", { hosts = { "*.y.com:9000" } }),
        R("r3", { hosts = { "X.Com" }, paths = { "/case" } }),
    }, {
        { Q { host = "x.com", port = 8000 }, "r1" },
        { Q { host = "x.com", port = 9000 }, nil },
        { Q { host = "a.y.com", port = 9000 }, "r2" },
        { Q { host = "a.y.com", port = 8000 }, nil },
        { Q { host = "x.com", path = "/case", port = 1 }, "r3" },
    } },
    { "methods are exact", {
        R("r1", { methods = { "GET", "POST" } }),
    }, {
        { Q { method = "POST" }, "r1" },
        { Q { method = "PUT" }, nil },
    } },
    { "headers: names and values case-insensitive, any value, regex", {
        R("r1", { headers = { ["X-Version"] = { "V1", "v2" } } }),
        R("r2", { headers = { ["x-re"] = { "~*^ab+c$" } } }),
    }, {
        { Q { headers = { ["x-version"] = "v1" } }, "r1" },
        { Q { headers = { ["x-version"] = "V2" } }, "r1" },
        { Q { headers = { ["x-version"] = { "v9", "v2" } } }, "r1" },
        { Q { headers = { ["x-version"] = "v3" } }, nil },
        { Q { headers = { ["x-re"] = "ABBC" } }, "r2" },
        { Q { headers = { ["x-re"] = "abd" } }, nil },
        { Q {}, nil },
    } },
    { "snis only constrain TLS requests", {
        R("r1", { snis = { "s.com" }, paths = { "/" } }),
        R("r2", { paths = { "/" } }),
    }, {
        { Q { https = true, sni = "s.com" }, "r1" },
        { Q { https = true, sni = "t.com" }, "r2" },
        { Q { https = false }, "r1" },
    } },
    -- Kong 3.9's compatible flavour: `*.x` is an ends-with match on the SNI,
    -- `x.*` a starts-with match, a trailing dot is dropped
    { "wildcard snis cover the names they describe", {
        R("r1", { snis = { "*.foo.test" }, paths = { "/" } }),
        R("r2", { snis = { "bar.*" }, paths = { "/" } }),
        R("r3", { snis = { "Exact.test." }, paths = { "/" } }),
        R("r4", { paths = { "/" } }),
    }, {
        { Q { https = true, sni = "a.foo.test" }, "r1" },
        { Q { https = true, sni = "a.b.foo.test" }, "r1" },
        { Q { https = true, sni = "foo.test" }, "r4" },
        { Q { https = true, sni = "afoo.test" }, "r4" },
        { Q { https = true, sni = "bar.test" }, "r2" },
        { Q { https = true, sni = "bar.x.org" }, "r2" },
        { Q { https = true, sni = "foobar.test" }, "r4" },
        { Q { https = true, sni = "exact.test" }, "r3" },
        { Q { https = true, sni = "other.test" }, "r4" },
        { Q { https = true }, "r4" },
        -- plain HTTP ignores snis: the three tie, the highest id wins
        { Q { https = false }, "r3" },
    } },
    -- Kong's router scenario "host + port": the port a host names is the Host
    -- header's (router.exec), and a route naming it wins the tie over the
    -- same host without a port, whatever the ids
    { "a host with its port beats the same host without one", {
        R("z-any", { hosts = { "domain-1.org", "domain-2.org" } }),
        R("a-port", { hosts = { "domain-1.org:321", "domain-2.org" } }),
        R("only-port", { hosts = { "domain-3.org:321" } }),
    }, {
        { Q { host = "domain-1.org", port = 321 }, "a-port" },
        { Q { host = "domain-1.org", port = 80 }, "z-any" },
        { Q { host = "domain-1.org", port = 123 }, "z-any" },
        { Q { host = "domain-3.org", port = 321 }, "only-port" },
        { Q { host = "domain-3.org", port = 123 }, nil },
    } },
    { "routes of disabled services leave the router", {
        R("r1", { paths = { "/a" }, service = { id = "off" } }),
        R("r2", { paths = { "/" }, service = false }),
    }, {
        { Q { path = "/a" }, "r2" },
    } },
    { "exact ties are deterministic", {
        R("aaa", { paths = { "/t" } }),
        R("bbb", { paths = { "/t" } }),
    }, {
        { Q { path = "/t" }, "bbb" },
    } },
    { "no paths and no hosts: methods only", {
        R("r1", { methods = { "DELETE" } }),
    }, {
        { Q { method = "DELETE", path = "/anything" }, "r1" },
    } },
}

local cases = {}
for _, sc in ipairs(SCENARIOS) do
    local name, routes, requests = sc[1], sc[2], sc[3]
    cases[#cases + 1] = { name, function()
        local rt, err = router.new(routes, SERVICES, { off = true })
        assert(rt, err)
        for i, rq in ipairs(requests) do
            local entry = router.find(rt, rq[1])
            eq(entry and entry.id, rq[2], ("request %d (%s %s%s)"):format(
                i, rq[1].method, rq[1].host, rq[1].path))
        end
    end }
end

cases[#cases + 1] = { "invalid regex refuses the route set", function()
    local rt, err = router.new({ R("r1", { paths = { "~/(a" } }) }, SERVICES, {})
    eq(rt, nil, "router")
    assert(err and err:find("invalid regex path", 1, true), err)
end }

cases[#cases + 1] = { "unknown service refuses the route set", function()
    local rt = router.new({ R("r1", { paths = { "/" }, service = { id = "nope" } }) },
                          SERVICES, {})
    eq(rt, nil, "router")
end }

cases[#cases + 1] = { "a route with nothing to match on refuses the route set", function()
    -- what an expression route looks like to another flavour
    local rt, err = router.new({ R("r1", { protocols = { "http" } }) }, SERVICES, {})
    eq(rt, nil, "router")
    assert(err and err:find("route r1: has no methods, hosts, paths, headers or snis", 1, true),
           err)
end }

cases[#cases + 1] = { "regex captures and regex strip", function()
    local rt = assert(router.new({
        R("r1", { paths = { [[~/users/(?<id>\d+)]] }, service = { id = "s2" } }),
    }, SERVICES, {}))
    local entry, prefix, captures = router.find(rt, Q { path = "/users/42/x" })
    eq(entry.id, "r1")
    eq(prefix, "/users/42")
    eq(captures.id, "42")
    eq(captures[1], "42")
    local res = router.result_for(entry, prefix, captures, "/users/42/x")
    eq(res.upstream_path, "/base/x")
    eq(res.prefix, "/users/42")
end }

cases[#cases + 1] = { "strip_path false and hosts-only routes keep the path", function()
    local rt = assert(router.new({
        R("r1", { paths = { "/r" }, strip_path = false, service = { id = "s2" } }),
        R("r2", { hosts = { "h.com" }, service = { id = "s2" } }),
    }, SERVICES, {}))
    local entry, prefix = router.find(rt, Q { path = "/r/x" })
    local res = router.result_for(entry, prefix, nil, "/r/x")
    eq(res.upstream_path, "/base/r/x")
    eq(res.prefix, nil)
    entry, prefix = router.find(rt, Q { host = "h.com", path = "/y" })
    res = router.result_for(entry, prefix, nil, "/y")
    eq(res.upstream_path, "/base/y")
end }

cases[#cases + 1] = { "upstream path is escaped after normalisation", function()
    local rt = assert(router.new({ R("r1", { paths = { "/r" } }) }, SERVICES, {}))
    local entry, prefix = router.find(rt, Q { path = "/r/a b" })
    local res = router.result_for(entry, prefix, nil, "/r/a b")
    eq(res.upstream_path, "/a%20b")
    eq(res.prefix, "/r")
end }

-- kongpy.router_order puts a full build's virtual routes in `before`'s order
-- without sorting them all: whatever order the routes come in (ascending ids
-- as snapshots list them, descending, shuffled, an id twice, a priority that
-- cannot key a table), the order must be the comparison sort's.
local build = require("kongpy.router_build")

local function route_mix(n, seed)
    math.randomseed(seed)
    local routes = {}
    for i = 1, n do
        local r = { paths = { "/p" .. (i % 7) } }
        local kind = math.random(1, 8)
        if kind == 1 then
            r.paths = { "~/p" .. (i % 5) .. "/\\d+", "/q" .. (i % 3), "/qq" .. i }
            r.regex_priority = math.random(-2, 2)
        elseif kind == 2 then
            r.hosts = { "h" .. (i % 4) .. ".test" }
        elseif kind == 3 then
            r.hosts = { "*.w.test", "h.test:8" .. (i % 2) }
        elseif kind == 4 then
            r.headers = { ["x-a"] = { "1" }, ["x-b"] = { "~*v\\d" } }
        elseif kind == 5 then
            r.methods = { "GET" }
            r.paths = nil
        elseif kind == 6 then
            r.snis = { "s.test" }
        end
        routes[i] = R(("%05d-r"):format(math.random(1, n * 4)) .. i, r)
    end
    table.sort(routes, function(a, b) return a.id < b.id end)
    return routes
end

local function expression_mix(n, seed)
    math.randomseed(seed)
    local routes = {}
    for i = 1, n do
        routes[i] = R(("e%04d"):format(i), {
            expression = "x",
            priority = math.random(0, 3),
            expression_tree = { "pred", "http.path", "^=", "/e" .. (i % 9) },
        })
    end
    return routes
end

local function same_order(routes, flavor, what)
    local rt = assert(build.build(routes, SERVICES, {}, flavor))
    local want = {}
    for i, vr in ipairs(rt.vroutes) do want[i] = vr end
    table.sort(want, build.before)
    eq(#rt.vroutes, #want, what .. ": count")
    for i = 1, #want do
        if rt.vroutes[i] ~= want[i] then
            error(("%s: virtual route %d is %s#%s, want %s#%s"):format(what, i,
                rt.vroutes[i].entry.id, rt.vroutes[i].seq, want[i].entry.id, want[i].seq))
        end
    end
    return rt
end

local function reversed(list)
    local out = {}
    for i = #list, 1, -1 do out[#out + 1] = list[i] end
    return out
end

cases[#cases + 1] = { "virtual routes are in priority order whatever the route order", function()
    for seed = 1, 5 do
        local routes = route_mix(300, seed)
        same_order(routes, nil, "ascending ids")
        same_order(reversed(routes), nil, "descending ids")
        local shuffled = {}
        for i, r in ipairs(routes) do
            table.insert(shuffled, math.random(1, i), r)
        end
        same_order(shuffled, nil, "shuffled")
        local twice = { routes[1], routes[1] }
        for i = 2, #routes do twice[#twice + 1] = routes[i] end
        same_order(twice, nil, "an id twice")
        local ex = expression_mix(200, seed)
        same_order(ex, "expressions", "expressions ascending")
        same_order(reversed(ex), "expressions", "expressions descending")
    end
    local odd = route_mix(50, 9)
    odd[7].paths, odd[7].regex_priority = { "~/nan" }, 0 / 0
    same_order(odd, nil, "a NaN regex_priority")
end }

cases[#cases + 1] = { "a route's attributes never leak into the next one", function()
    -- the attribute lists of a build are read into one table, route by route
    local rt = assert(router.new({
        R("r1", { paths = { "/x" }, methods = { "POST" }, headers = { a = { "1" } },
                  hosts = { "h.test" }, snis = { "s.test" } }),
        R("r2", { paths = { "/x" } }),
    }, SERVICES, {}))
    local entry = router.find(rt, Q { path = "/x" })
    eq(entry and entry.id, "r2", "plain request")
    entry = router.find(rt, Q { path = "/x", method = "POST", host = "h.test",
                                headers = { a = "1" } })
    eq(entry and entry.id, "r1", "request r1 asks for")
end }

cases[#cases + 1] = { "one-closure predicates match as the general ones do", function()
    -- `==` and `^=` on one-string fields take a closure of their own; with
    -- any() (flag 2) a one-string value takes the general path
    local expressions = require("kongpy.expressions")
    for _, field in ipairs({ "http.path", "http.host", "http.method" }) do
        for _, op in ipairs({ "==", "^=" }) do
            for _, value in ipairs({ "/a", "/a/b", "/b", "", false }) do
                local got, want = {}, {}
                for i, flags in ipairs({ 0, 2 }) do
                    local fn = assert(expressions.compile({ "pred", field, op, "/a", flags }))
                    local ctx = { fetch = function() return value or nil end }
                    local out = i == 1 and got or want
                    out.ok, out.path_match = fn(ctx), ctx.path_match
                end
                local what = ("%s %s %q"):format(field, op, tostring(value))
                eq(got.ok, want.ok, what)
                eq(got.path_match, want.path_match, what .. ": path_match")
            end
        end
    end
end }

return cases
