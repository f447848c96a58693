-- The windows and counter keys of the rate-limiting plugins: window starts
-- and key suffixes are kept for the current second, and a key made of
-- key_prefix() .. identifier .. suffix is Kong's key.
local ratelimit = require("kongpy.tools.ratelimit")
local eq = require("runner").eq

local cases = {}

local ROUTE = "6c4a0b6e-2b2f-4b53-9d35-0b2b6f8c1a11"
local NULL = ratelimit.NULL_UUID

-- { epoch seconds (may be fractional), expected window starts }
local TIMES = {
    { 1796132481.25, { second = 1796132481, minute = 1796132460, hour = 1796130000,
                       day = 1796083200, month = 1796083200, year = 1767225600 } },
    { 1798761599.9, { second = 1798761599, minute = 1798761540, hour = 1798758000,
                      day = 1798675200, month = 1796083200, year = 1767225600 } },
    { 1798761600, { second = 1798761600, minute = 1798761600, hour = 1798761600,
                    day = 1798761600, month = 1798761600, year = 1798761600 } },
    { 1835438400, { second = 1835438400, minute = 1835438400, hour = 1835438400,
                    day = 1835395200, month = 1832976000, year = 1830297600 } },
}

local function check(t, want)
    local starts = ratelimit.timestamps(t)
    local suffixes = ratelimit.suffixes(t)
    local prefix = ratelimit.key_prefix("ratelimit", ROUTE, NULL)
    for _, p in ipairs(ratelimit.PERIODS) do
        eq(starts[p], want[p], p .. " start at " .. t)
        eq(prefix .. "consumer-1" .. suffixes[p],
           ratelimit.key("ratelimit", ROUTE, NULL, "consumer-1", want[p], p), p .. " key at " .. t)
    end
end

for _, c in ipairs(TIMES) do
    cases[#cases + 1] = { "windows and keys at " .. c[1], function()
        check(c[1], c[2])
    end }
end

cases[#cases + 1] = { "the kept second follows the clock both ways", function()
    for _, i in ipairs({ 1, 2, 1, 3, 3, 4, 2 }) do
        check(TIMES[i][1], TIMES[i][2])
    end
end }

cases[#cases + 1] = { "Kong's key layout", function()
    eq(ratelimit.key_prefix("ratelimit", ROUTE, NULL) .. "10.0.0.1"
       .. ratelimit.suffixes(1798761600)["minute"],
       "ratelimit:" .. ROUTE .. ":" .. NULL .. ":10.0.0.1:1798761600000:minute")
end }

return cases
