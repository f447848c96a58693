-- Least connections (Kong's `least-connections`): the available address with
-- the lowest (active + 1) / weight, counting this worker's requests in
-- flight. Equal scores are taken in turn, so an idle upstream still spreads.
local health = require("kongpy.health")

local is_healthy = health.is_healthy
local ipairs = ipairs
local setmetatable = setmetatable

local ERR_NO_PEERS = "No peers are available"

local _M = {}
local mt = { __index = _M }

function _M.new(up, addresses)
    local peers = {}
    for _, a in ipairs(addresses) do
        if a.weight > 0 then
            peers[#peers + 1] = a
        end
    end
    return setmetatable({ up = up, peers = peers, n = #peers, active = {}, start = 0 }, mt)
end

local function best_of(self, skip, tried)
    local peers, active, n = self.peers, self.active, self.n
    local start = self.start
    local best, best_score
    for k = 1, n do
        local a = peers[(start + k) % n + 1]
        if not (tried and tried[a]) and not (skip and skip[a]) then
            local s = ((active[a] or 0) + 1) / a.weight
            if not best_score or s < best_score then
                best, best_score = a, s
            end
        end
    end
    return best
end

-- health is asked of the best candidate only (one shared-dict read when all
-- is well), the next best when it is unavailable
local function pick(self, uid, tried)
    local skip
    local a = best_of(self, nil, tried)
    while a and not is_healthy(uid, a.ip, a.port) do
        skip = skip or {}
        skip[a] = true
        a = best_of(self, skip, tried)
    end
    return a
end

function _M:get_peer(_, _, tried)
    if self.n == 0 then
        return nil, ERR_NO_PEERS
    end
    local uid = self.up.id
    local a = pick(self, uid, tried)
    if not a and tried then
        a = pick(self, uid, nil)
    end
    if not a then
        return nil, ERR_NO_PEERS
    end
    self.start = (self.start + 1) % self.n
    self.active[a] = (self.active[a] or 0) + 1
    return a
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
