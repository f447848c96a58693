-- Smooth weighted round-robin (the algorithm of nginx's upstream module):
-- every pick adds each available peer's weight to its running score, takes
-- the highest and subtracts the total from it. Over any window the picks
-- follow the weights, interleaved rather than in bursts. Per worker.
-- the verdict alone: kongpy.health itself needs the served configuration
local health = require("kongpy.health.state")
local common = require("kongpy.balancers.common")

local is_healthy = health.is_healthy
local setmetatable = setmetatable
local huge = math.huge

local ERR_NO_PEERS = common.ERR_NO_PEERS

local _M = {}
local mt = { __index = _M }

-- addresses: every address of the upstream (weight 0 ones are never picked)
function _M.new(up, addresses)
    local peers, n = common.weighted(addresses)
    local score = {}
    for i = 1, n do
        score[i] = 0
    end
    return setmetatable({ up = up, peers = peers, score = score, n = n }, mt)
end

-- The peer with the highest score + weight among those not excluded; the
-- health of that one only is asked (one shared-dict read per request), and a
-- pick is committed once a healthy peer is found.
-- (best and best_score stay numbers: a variable that is nil on the first
-- round and a number later makes LuaJIT give up the loop's trace)
local function best_of(self, skip, tried)
    local peers, score = self.peers, self.score
    local best, best_score = 0, -huge
    for i = 1, self.n do
        local a = peers[i]
        if not (skip and skip[a]) and not (tried and tried[a]) then
            local s = score[i] + a.weight
            if s > best_score then
                best, best_score = i, s
            end
        end
    end
    return best > 0 and best or nil
end

local function pick(self, uid, tried)
    local peers, score = self.peers, self.score
    local checks = self.up.checks
    local skip
    local best = best_of(self, nil, tried)
    while best do
        local a = peers[best]
        if not checks or is_healthy(uid, a.ip, a.port) then
            break
        end
        skip = skip or {}
        skip[a] = true
        best = best_of(self, skip, tried)
    end
    if not best then
        return nil
    end
    -- the unavailable peers take no part in the turn (as nginx's down peers)
    local total = 0
    for i = 1, self.n do
        local a = peers[i]
        if not (skip and skip[a]) and not (tried and tried[a]) then
            score[i] = score[i] + a.weight
            total = total + a.weight
        end
    end
    score[best] = score[best] - total
    return peers[best]
end

-- tried: the addresses this request failed on (nil on the first try); once
-- every one failed, any may be tried again.
function _M:get_peer(_, _, tried)
    local uid = self.up.id
    local a = pick(self, uid, tried)
    if not a and tried then
        a = pick(self, uid, nil)
    end
    if not a then
        return nil, ERR_NO_PEERS
    end
    return a
end

function _M.after_balance()
end

return _M
