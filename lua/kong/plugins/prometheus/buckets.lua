-- Which bucket of a histogram a sample falls in (1 for the first bound,
-- #bounds + 1 for +Inf). Latencies are whole milliseconds mostly below a
-- second: a table from each integer up to LUT_MAX to its bucket replaces
-- the walk over the bounds (a loop of one or two rounds per sample, which
-- LuaJIT's traces leave). The bounds are integers, so v <= bound exactly
-- when ceil(v) <= bound.
local ceil = math.ceil

local LUT_MAX = 1000

local _M = {}

local luts = {}

local function walk(bounds, v)
    local i, n = 1, #bounds
    while i <= n and v > bounds[i] do
        i = i + 1
    end
    return i
end
_M.walk = walk

-- The table of `bounds` (a list of integers), made once per list.
function _M.lut(bounds)
    local lut = luts[bounds]
    if not lut then
        lut = {}
        for v = 0, LUT_MAX do
            lut[v] = walk(bounds, v)
        end
        luts[bounds] = lut
    end
    return lut
end

-- The bucket of sample v >= 0, with lut = _M.lut(bounds).
function _M.index(bounds, lut, v)
    if v <= LUT_MAX then
        return lut[ceil(v)]
    end
    return walk(bounds, v)
end

return _M
