-- What the balancers share: the peers worth picking (weight > 0) and the
-- pick of the lowest score for least-connections and latency, asking the
-- health of the best candidate only and taking equal scores in turn.
-- the verdict alone: kongpy.health itself needs the served configuration
local health = require("kongpy.health.state")

local is_healthy = health.is_healthy
local ipairs = ipairs

local ERR_NO_PEERS = "No peers are available"

local _M = { ERR_NO_PEERS = ERR_NO_PEERS }

-- the addresses with a weight (weight 0: never selected)
function _M.weighted(addresses)
    local peers = {}
    for _, a in ipairs(addresses) do
        if a.weight > 0 then
            peers[#peers + 1] = a
        end
    end
    return peers, #peers
end

-- (best and best_score stay numbers: a variable that is nil on the first
-- round and something else later makes LuaJIT give up the loop's trace)
local function lowest_of(self, score, skip, tried)
    local peers, n, start = self.peers, self.n, self.start
    local best, best_score = 0, 0
    for k = 1, n do
        local i = (start + k) % n + 1
        local a = peers[i]
        if not (tried and tried[a]) and not (skip and skip[a]) then
            local s = score(self, a)
            if best == 0 or s < best_score then
                best, best_score = i, s
            end
        end
    end
    return peers[best]
end

local function pick(self, score, tried)
    local uid = self.up.id
    local checks = self.up.checks
    local skip
    local a = lowest_of(self, score, nil, tried)
    while a and checks and not is_healthy(uid, a.ip, a.port) do
        skip = skip or {}
        skip[a] = true
        a = lowest_of(self, score, skip, tried)
    end
    return a
end

-- The available peer of lowest score(self, address) not in `tried` (any, once
-- all were tried); nil, "No peers are available" when none is.
function _M.lowest(self, score, tried)
    if self.n == 0 then
        return nil, ERR_NO_PEERS
    end
    local a = pick(self, score, tried)
    if not a and tried then
        a = pick(self, score, nil)
    end
    if not a then
        return nil, ERR_NO_PEERS
    end
    self.start = (self.start + 1) % self.n
    return a
end

return _M
