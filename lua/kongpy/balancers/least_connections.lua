-- Least connections (Kong's `least-connections`): the available address with
-- the lowest (active + 1) / weight, counting this worker's requests in
-- flight. Equal scores are taken in turn, so an idle upstream still spreads.
local common = require("kongpy.balancers.common")

local setmetatable = setmetatable
local lowest = common.lowest

local _M = {}
local mt = { __index = _M }

function _M.new(up, addresses)
    local peers, n = common.weighted(addresses)
    return setmetatable({ up = up, peers = peers, n = n, active = {}, start = 0 }, mt)
end

local function score(self, a)
    return ((self.active[a] or 0) + 1) / a.weight
end

function _M:get_peer(_, _, tried)
    local a, err = lowest(self, score, tried)
    if a then
        self.active[a] = (self.active[a] or 0) + 1
    end
    return a, err
end

-- the request (or this try of it) is over
function _M:after_balance(_, a)
    local active = self.active
    local c = active[a]
    if c then
        active[a] = c > 1 and c - 1 or nil
    end
end

_M.release = _M.after_balance

return _M
