-- The ngx-free CIDR matcher used by ip-restriction (IPv4 and IPv6).
local cidr = require("kongpy.tools.cidr")
local eq = require("runner").eq

local cases = {}

local PARSE = {
    { "127.0.0.1", 4 }, { "255.255.255.255", 4 }, { "256.0.0.1", nil }, { "1.2.3", nil },
    { "1.2.3.4.5", nil }, { "::1", 6 }, { "::", 6 }, { "2001:db8::", 6 },
    { "2001:db8:0:0:0:0:0:1", 6 }, { "2001:db8::1::2", nil }, { "2001:db8:0:0:0:0:0:1:2", nil },
    { "::ffff:10.1.2.3", 6 }, { "[::1]", 6 }, { "fe80::g", nil }, { "12345::", nil },
    { ":1:2", nil }, { "1:2:3:4:5:6:7", nil }, { "", nil },
}
for _, c in ipairs(PARSE) do
    cases[#cases + 1] = { "parse " .. c[1], function()
        eq(cidr.parse(c[1]), c[2], c[1])
    end }
end

-- { list, address, expected }
local MATCH = {
    { { "127.0.0.1" }, "127.0.0.1", true },
    { { "127.0.0.1" }, "127.0.0.2", false },
    { { "10.0.0.0/8" }, "10.255.1.2", true },
    { { "10.0.0.0/8" }, "11.0.0.1", false },
    { { "192.168.1.128/25" }, "192.168.1.200", true },
    { { "192.168.1.128/25" }, "192.168.1.100", false },
    { { "0.0.0.0/0" }, "8.8.8.8", true },
    { { "200.0.0.0/1" }, "129.0.0.1", true },
    { { "200.0.0.0/1" }, "127.0.0.1", false },
    { { "2001:db8::/32" }, "2001:db8:ffff::1", true },
    { { "2001:db8::/32" }, "2001:db9::1", false },
    { { "2001:db8::/33" }, "2001:db8:7fff::1", true },
    { { "2001:db8::/33" }, "2001:db8:8000::1", false },
    { { "::1" }, "0:0:0:0:0:0:0:1", true },
    { { "::/0" }, "fe80::1", true },
    { { "::/0" }, "1.2.3.4", false },
    { { "0.0.0.0/0" }, "::1", false },
    { { "::ffff:10.0.0.0/104" }, "::ffff:10.9.8.7", true },
    { { "1.1.1.1", "2001:db8::1/128", "172.16.0.0/12" }, "172.31.255.255", true },
    { { "1.1.1.1", "2001:db8::1/128", "172.16.0.0/12" }, "2001:db8::1", true },
    { { "1.1.1.1", "2001:db8::1/128", "172.16.0.0/12" }, "2001:db8::2", false },
    { {}, "1.2.3.4", false },
}
for i, c in ipairs(MATCH) do
    cases[#cases + 1] = { "match #" .. i .. " " .. c[2], function()
        local m = assert(cidr.compile(c[1]))
        eq(cidr.contains(m, c[2]), c[3], c[2])
    end }
end

cases[#cases + 1] = { "invalid entries and addresses", function()
    for _, bad in ipairs({ "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "nope" }) do
        local m, err = cidr.compile({ bad })
        eq(m, nil, bad)
        eq(err, "invalid ip or cidr range: " .. bad, bad)
    end
    local m = assert(cidr.compile({ "10.0.0.0/8" }))
    local ok, err = cidr.contains(m, "unix:")
    eq(ok, nil)
    eq(err, "invalid ip address: unix:")
end }

return cases
