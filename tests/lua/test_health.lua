-- Counting of health reports (kongpy.health.state) against Kong's
-- lua-resty-healthcheck semantics, and the settings digest.
local state = require("kongpy.health.state")
local settings = require("kongpy.health.settings")
local cjson = require("cjson.safe")
local eq = require("runner").eq

local cases = {}
local n = 0

local function fresh()
    n = n + 1
    return "u" .. n
end

local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

case("failures flip after the limit, consecutive per kind", function()
    local u = fresh()
    eq(state.count(u, "10.0.0.1", 80, "tcp", 3), nil)
    eq(state.count(u, "10.0.0.1", 80, "tcp", 3), nil)
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
    eq(state.count(u, "10.0.0.1", 80, "tcp", 3), true)
    eq(state.is_healthy(u, "10.0.0.1", 80), false)
    -- another address of the same upstream is untouched
    eq(state.is_healthy(u, "10.0.0.1", 81), true)
end)

case("a success resets the failure counters", function()
    local u = fresh()
    state.count(u, "10.0.0.1", 80, "http", 2)
    state.count(u, "10.0.0.1", 80, "ok", 1)
    eq(state.count(u, "10.0.0.1", 80, "http", 2), nil)
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
    eq(state.count(u, "10.0.0.1", 80, "http", 2), true)
end)

case("failure kinds count apart and do not reset each other", function()
    local u = fresh()
    state.count(u, "10.0.0.1", 80, "http", 2)
    state.count(u, "10.0.0.1", 80, "timeout", 2)
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
    eq(state.count(u, "10.0.0.1", 80, "http", 2), true)
end)

case("a limit of 0 ignores the report", function()
    local u = fresh()
    for _ = 1, 5 do
        eq(state.count(u, "10.0.0.1", 80, "tcp", 0), nil)
    end
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
end)

case("successes bring an unhealthy address back; a failure resets them", function()
    local u = fresh()
    state.set(u, "10.0.0.1", 80, false)
    eq(state.count(u, "10.0.0.1", 80, "ok", 2), nil)
    state.count(u, "10.0.0.1", 80, "tcp", 1)   -- already unhealthy: resets successes
    eq(state.count(u, "10.0.0.1", 80, "ok", 2), nil)
    eq(state.is_healthy(u, "10.0.0.1", 80), false)
    eq(state.count(u, "10.0.0.1", 80, "ok", 2), true)
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
end)

case("set clears the counters", function()
    local u = fresh()
    state.count(u, "10.0.0.1", 80, "tcp", 2)
    state.set(u, "10.0.0.1", 80, true)
    eq(state.count(u, "10.0.0.1", 80, "tcp", 2), nil)
end)

case("forget_upstream drops only that upstream's keys", function()
    local u, other = fresh(), fresh()
    state.set(u, "10.0.0.1", 80, false)
    state.set(other, "10.0.0.1", 80, false)
    state.set_digest(u, "d")
    state.forget_upstream(u)
    eq(state.is_healthy(u, "10.0.0.1", 80), true)
    eq(state.digest_of(u), nil)
    eq(state.is_healthy(other, "10.0.0.1", 80), false)
end)

case("the digest ignores key order and follows every value", function()
    local a = cjson.decode('{"healthchecks": {"threshold": 0, "active": {"timeout": 1,'
                           .. ' "http_path": "/"}}}')
    local b = cjson.decode('{"healthchecks": {"active": {"http_path": "/", "timeout": 1},'
                           .. ' "threshold": 0}}')
    local c = cjson.decode('{"healthchecks": {"active": {"http_path": "/x", "timeout": 1},'
                           .. ' "threshold": 0}}')
    eq(settings.digest(a), settings.digest(b))
    eq(settings.digest(a) == settings.digest(c), false)
end)

case("checks are on when an interval or a passive failure limit is set", function()
    local off = cjson.decode('{"healthchecks": {"passive": {"healthy": {"successes": 3}}}}')
    local on = cjson.decode('{"healthchecks": {"passive": {"unhealthy": {"timeouts": 1}}}}')
    local probing = cjson.decode('{"healthchecks": {"active": {"unhealthy": {"interval": 2}}}}')
    eq(settings.of(off).on, false)
    eq(settings.of(on).on, true)
    eq(settings.of(on).probing, false)
    eq(settings.of(probing).probing, true)
end)

return cases
