-- Stream routes (kongpy.stream.router): protocols, sources, destinations,
-- SNIs (exact and wildcard) and Kong's precedence, as a table.
local router = require("kongpy.stream.router")
local eq = require("runner").eq

local cases = {}

local ROUTES = {
    { id = "a-dest-port", protocols = { "tcp" }, destinations = { { port = 9000 } },
      created_at = 1 },
    { id = "b-src-cidr-dest", protocols = { "tcp", "tls" },
      sources = { { ip = "10.0.0.0/8" } }, destinations = { { port = 9000 } }, created_at = 2 },
    { id = "c-src-ip-port", protocols = { "tcp" }, sources = { { ip = "192.0.2.1", port = 4000 } },
      created_at = 3 },
    { id = "d-udp", protocols = { "udp" }, destinations = { { ip = "127.0.0.1", port = 53 } },
      created_at = 4 },
    { id = "e-sni", protocols = { "tls" }, snis = { "Exact.test" }, created_at = 5 },
    { id = "f-wild-suffix", protocols = { "tls_passthrough" }, snis = { "*.wild.test" },
      created_at = 6 },
    { id = "g-wild-prefix", protocols = { "tls_passthrough" }, snis = { "pre.*" },
      created_at = 7 },
    { id = "h-http", protocols = { "http" }, paths = { "/" }, created_at = 8 },
    { id = "i-dest-v6", protocols = { "tcp" }, destinations = { { ip = "2001:db8::/32" } },
      created_at = 9 },
}

-- { connection, expected route id or false }
local MATCH = {
    { { protocol = "tcp", src_ip = "127.0.0.1", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 9000 }, "a-dest-port" },
    -- two attribute kinds beat one
    { { protocol = "tcp", src_ip = "10.1.2.3", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 9000 }, "b-src-cidr-dest" },
    { { protocol = "tcp", src_ip = "10.1.2.3", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 9001 }, false },
    { { protocol = "tcp", src_ip = "192.0.2.1", src_port = 4000, dst_ip = "127.0.0.1",
        dst_port = 1 }, "c-src-ip-port" },
    { { protocol = "tcp", src_ip = "192.0.2.1", src_port = 4001, dst_ip = "127.0.0.1",
        dst_port = 1 }, false },
    { { protocol = "udp", src_ip = "127.0.0.1", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 53 }, "d-udp" },
    { { protocol = "tcp", src_ip = "127.0.0.1", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 53 }, false },
    { { protocol = "tls", src_ip = "127.0.0.1", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 1, sni = "exact.test" }, "e-sni" },
    { { protocol = "tls", src_ip = "127.0.0.1", src_port = 1, dst_ip = "127.0.0.1",
        dst_port = 1, sni = "other.test" }, false },
    { { protocol = "tls_passthrough", src_ip = "127.0.0.1", src_port = 1,
        dst_ip = "127.0.0.1", dst_port = 1, sni = "a.wild.test" }, "f-wild-suffix" },
    -- a wildcard covers one label only
    { { protocol = "tls_passthrough", src_ip = "127.0.0.1", src_port = 1,
        dst_ip = "127.0.0.1", dst_port = 1, sni = "a.b.wild.test" }, false },
    { { protocol = "tls_passthrough", src_ip = "127.0.0.1", src_port = 1,
        dst_ip = "127.0.0.1", dst_port = 1, sni = "wild.test" }, false },
    { { protocol = "tls_passthrough", src_ip = "127.0.0.1", src_port = 1,
        dst_ip = "127.0.0.1", dst_port = 1, sni = "pre.example.org" }, "g-wild-prefix" },
    { { protocol = "tls_passthrough", src_ip = "127.0.0.1", src_port = 1,
        dst_ip = "127.0.0.1", dst_port = 1 }, false },
    { { protocol = "tcp", src_ip = "127.0.0.1", src_port = 1, dst_ip = "2001:db8::1",
        dst_port = 80 }, "i-dest-v6" },
}

local rt = assert(router.build(ROUTES))

for i, c in ipairs(MATCH) do
    cases[#cases + 1] = { "match #" .. i, function()
        local r = router.match(rt, c[1])
        eq(r and r.id or false, c[2], "case " .. i)
    end }
end

cases[#cases + 1] = { "http routes are left to the HTTP router", function()
    for _, r in ipairs(rt.routes) do
        eq(r.id ~= "h-http", true)
    end
end }

-- traditional: same kinds, the older route first; compatible: Kong's ATC
-- priority ranks a source ip above a source cidr
for flavor, want in pairs({ traditional = "old", traditional_compatible = "new" }) do
    cases[#cases + 1] = { "equal kinds (" .. flavor .. ")", function()
        local t = assert(router.build({
            { id = "new", protocols = { "tcp" }, sources = { { ip = "10.0.0.1" } },
              created_at = 20 },
            { id = "old", protocols = { "tcp" }, sources = { { ip = "10.0.0.0/8" } },
              created_at = 10 },
        }, flavor))
        local r = router.match(t, { protocol = "tcp", src_ip = "10.0.0.1", src_port = 1,
                                    dst_ip = "127.0.0.1", dst_port = 1 })
        eq(r.id, want)
    end }
end

cases[#cases + 1] = { "an invalid source is an error naming the route", function()
    local t, err = router.build({
        { id = "bad", protocols = { "tcp" }, sources = { { ip = "10.0.0.0/40" } } },
    })
    eq(t, nil)
    eq(err, "route bad: sources: invalid ip or cidr range: 10.0.0.0/40")
end }

return cases
