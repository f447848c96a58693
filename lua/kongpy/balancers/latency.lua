-- Latency (Kong's `latency`): the available address with the lowest
-- exponentially weighted moving average of connect + response time divided
-- by its weight; the average decays with a 10 s time constant. An address
-- without a measure yet starts at the average of the others (0 when none
-- has one), so new ones get tried. Equal scores are taken in turn. Per worker.
local health = require("kongpy.health")

local ngx = ngx
local var = ngx.var
local now = ngx.now
local is_healthy = health.is_healthy

local ipairs = ipairs
local pairs = pairs
local tonumber = tonumber
local setmetatable = setmetatable
local exp = math.exp
local match = string.match

local ERR_NO_PEERS = "No peers are available"
local DECAY = 10

local _M = {}
local mt = { __index = _M }

function _M.new(up, addresses)
    local peers = {}
    for _, a in ipairs(addresses) do
        if a.weight > 0 then
            peers[#peers + 1] = a
        end
    end
    return setmetatable({ up = up, peers = peers, n = #peers, ewma = {}, seen = {},
                          start = 0 }, mt)
end

local function average(self)
    local sum, count = 0, 0
    for _, v in pairs(self.ewma) do
        sum, count = sum + v, count + 1
    end
    return count > 0 and sum / count or 0
end

local function best_of(self, skip, tried)
    local peers, ewma, n = self.peers, self.ewma, self.n
    local start = self.start
    local best, best_score
    local avg
    for k = 1, n do
        local a = peers[(start + k) % n + 1]
        if not (tried and tried[a]) and not (skip and skip[a]) then
            local e = ewma[a]
            if not e then
                avg = avg or average(self)
                e = avg
            end
            local s = e / a.weight
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
    return a
end

-- the last figure of nginx's comma-separated per-try list
local function last_time(v)
    return v and tonumber(match(v, "([%d%.]+)%s*$"))
end

function _M:after_balance(_, a)
    local connect = last_time(var.upstream_connect_time)
    local response = last_time(var.upstream_response_time)
    if not connect and not response then
        return
    end
    local rtt = (connect or 0) + (response or 0)
    local t = now()
    local prev = self.ewma[a]
    if not prev then
        self.ewma[a] = rtt
    else
        local dt = t - (self.seen[a] or t)
        local w = exp(-(dt > 0 and dt or 0) / DECAY)
        self.ewma[a] = prev * w + rtt * (1 - w)
    end
    self.seen[a] = t
end

return _M
