-- The windows of Kong's rate-limiting plugins and their one ordering rule,
-- shared by rate-limiting and response-ratelimiting.
local _M = {}

_M.PERIODS = { "second", "minute", "hour", "day", "month", "year" }

-- nil and Kong's message when a longer window allows fewer requests than a
-- shorter one in `limits` (period -> number); true otherwise.
function _M.check_order(limits)
    local periods = _M.PERIODS
    for i, lower in ipairs(periods) do
        local v1 = limits[lower]
        if type(v1) == "number" then
            for j = i + 1, #periods do
                local upper = periods[j]
                local v2 = limits[upper]
                if type(v2) == "number" and v2 < v1 then
                    return nil, string.format("The limit for %s(%.1f) cannot be lower than the "
                                              .. "limit for %s(%.1f)", upper, v2, lower, v1)
                end
            end
        end
    end
    return true
end

return _M
