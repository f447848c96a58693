-- Latency (Kong's `latency`): the available address with the lowest
-- exponentially weighted moving average of connect + response time divided
-- by its weight; the average decays with a 10 s time constant. An address
-- without a measure yet starts at the average of the others (0 when none
-- has one), so new ones get tried. Equal scores are taken in turn. Per worker.
local common = require("kongpy.balancers.common")

local ngx = ngx
local var = ngx.var
local now = ngx.now
local lowest = common.lowest

local pairs = pairs
local tonumber = tonumber
local setmetatable = setmetatable
local exp = math.exp
local match = string.match

local DECAY = 10

local _M = {}
local mt = { __index = _M }

function _M.new(up, addresses)
    local peers, n = common.weighted(addresses)
    return setmetatable({ up = up, peers = peers, n = n, ewma = {}, seen = {}, start = 0,
                          avg = nil }, mt)
end

local function average(self)
    local sum, count = 0, 0
    for _, v in pairs(self.ewma) do
        sum, count = sum + v, count + 1
    end
    return count > 0 and sum / count or 0
end

local function score(self, a)
    local e = self.ewma[a]
    if not e then
        e = self.avg
        if not e then
            e = average(self)
            self.avg = e
        end
    end
    return e / a.weight
end

function _M:get_peer(_, _, tried)
    self.avg = nil
    return lowest(self, score, tried)
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
