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
local ipairs = ipairs

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

-- Start of each window (epoch seconds, UTC) containing `now` (seconds). The
-- answer is computed once per second and shared: callers only read it.
local last_second, last_starts, last_suffixes

local function starts_of(t)
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

function _M.timestamps(now)
    local t = floor(now)
    if t ~= last_second then
        last_starts, last_suffixes, last_second = starts_of(t), nil, t
    end
    return last_starts
end

-- The end of each window's counter key (":<period_date ms>:<period>") for the
-- second of `now`, built once per second: a key is then prefix .. id .. suffix.
function _M.suffixes(now)
    local starts = _M.timestamps(now)
    local s = last_suffixes
    if not s then
        s = {}
        for _, p in ipairs(_M.PERIODS) do
            s[p] = fmt(":%d:%s", starts[p] * 1000, p)
        end
        last_suffixes = s
    end
    return s
end

-- Seconds until the window ends, as Kong computes RateLimit-Reset.
function _M.reset(period, start, now)
    return max(1, _M.EXPIRATION[period] - floor(now - start))
end

-- Kong's key: <ns>:<route_id>:<service_id>:<identifier>:<period_date ms>:<period>.
-- key_prefix() is its first three parts and their separators.
function _M.key_prefix(ns, route_id, service_id)
    return fmt("%s:%s:%s:", ns, route_id, service_id)
end

function _M.key(ns, route_id, service_id, identifier, start, period)
    return fmt("%s:%s:%s:%s:%d:%s", ns, route_id, service_id, identifier, start * 1000, period)
end

return _M
