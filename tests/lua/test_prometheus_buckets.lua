-- The prometheus plugin's bucket of a sample: the table of integers up to a
-- second gives what walking Kong's bounds gives, for whole milliseconds,
-- fractions, the bounds themselves and beyond the table.
local buckets = require("kong.plugins.prometheus.buckets")
local eq = require("runner").eq

local KONG = { 1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000 }
local UPSTREAM = { 25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000 }

local function naive(bounds, v)
    for i, b in ipairs(bounds) do
        if v <= b then
            return i
        end
    end
    return #bounds + 1
end

return {
    { "every whole millisecond, fraction and bound lands where the bounds say", function()
        for _, bounds in ipairs({ KONG, UPSTREAM }) do
            local lut = buckets.lut(bounds)
            for v = 0, 1500 do
                eq(buckets.index(bounds, lut, v), naive(bounds, v))
                eq(buckets.index(bounds, lut, v + 0.5), naive(bounds, v + 0.5))
                eq(buckets.index(bounds, lut, v + 0.001), naive(bounds, v + 0.001))
            end
            for _, b in ipairs(bounds) do
                for _, v in ipairs({ b - 0.25, b, b + 0.25, b + 1 }) do
                    eq(buckets.index(bounds, lut, v), naive(bounds, v))
                end
            end
            eq(buckets.index(bounds, lut, 1e9), #bounds + 1)
        end
    end },
    { "one table per list of bounds", function()
        eq(buckets.lut(KONG) == buckets.lut(KONG), true)
        eq(buckets.lut(KONG) == buckets.lut(UPSTREAM), false)
    end },
}
