-- Shared by rate-limiting and response-ratelimiting: Kong's fixed UTC calendar
-- windows, its counter keys and the three counting policies.
--
-- A policy answers three calls on a list of counters (one per window):
--   consume(ns, conf, entries, n) -> counts, stop, err
--       adds n to every counter unless one would pass its limit, atomically
--       where the policy can; `counts` are the values before this request,
--       `stop` the index of the first counter that refused (nothing added then)
--   usage(ns, conf, entries) -> counts, err
--   increment(ns, conf, entries, n) -> ok, err (no limit check)
-- Each entry: { key, limit, ttl, period, period_date, identifier, route_id, service_id }.
local os_date = os.date
local floor = math.floor
local max = math.max
local fmt = string.format
local tostring = tostring

local ERR_POLICY = "unknown rate-limiting policy: "

local _M = {}

_M.PERIODS = { "second", "minute", "hour", "day", "month", "year" }

-- Window lengths Kong uses for expiry and RateLimit-Reset (a "month" is 30 days).
_M.EXPIRATION = {
    second = 1, minute = 60, hour = 3600, day = 86400, month = 2592000, year = 31536000,
}

_M.NULL_UUID = "00000000-0000-0000-0000-000000000000"

-- Loaded with this module (in nginx's master, at init): workers that run as
-- another user never read Lua files.
local policies = {
    ["local"] = require("kongpy.tools.ratelimit.local"),
    cluster = require("kongpy.tools.ratelimit.cluster"),
    redis = require("kongpy.tools.ratelimit.redis"),
}

function _M.policy(name)
    local p = policies[name]
    if p == nil then
        return nil, ERR_POLICY .. tostring(name)
    end
    return p
end

-- Start of each window (epoch seconds, UTC) containing `now` (seconds).
function _M.timestamps(now)
    local t = floor(now)
    local d = os_date("!*t", t)
    local day = t - d.hour * 3600 - d.min * 60 - d.sec
    return {
        second = t,
        minute = t - d.sec,
        hour = t - d.min * 60 - d.sec,
        day = day,
        month = day - (d.day - 1) * 86400,
        year = day - (d.yday - 1) * 86400,
    }
end

-- Seconds until the window ends, as Kong computes RateLimit-Reset.
function _M.reset(period, start, now)
    return max(1, _M.EXPIRATION[period] - floor(now - start))
end

-- Kong's key: <ns>:<route_id>:<service_id>:<identifier>:<period_date ms>:<period>.
function _M.key(ns, route_id, service_id, identifier, start, period)
    return fmt("%s:%s:%s:%s:%d:%s", ns, route_id, service_id, identifier, start * 1000, period)
end

return _M
