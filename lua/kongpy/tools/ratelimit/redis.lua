-- The `redis` policy: one round trip per request, a server-side script that
-- checks every window and increments them all only when none would pass its
-- limit. Redis runs a script atomically, so however many nodes and workers
-- share the server, no more requests than the limit are ever let through.
local redis = require("kongpy.tools.redis")

local tostring = tostring
local tonumber = tonumber
local type = type
local unpack = unpack

local _M = {}

-- KEYS: counters; ARGV: n, then limit and ttl per key. Returns
-- { stop, count_1, ... } where stop is 0 when the request was counted.
local CONSUME = redis.script([[
local n = tonumber(ARGV[1])
local out = { 0 }
for i = 1, #KEYS do
    local c = tonumber(redis.call("GET", KEYS[i]) or "0")
    out[i + 1] = c
    if out[1] == 0 and c + n > tonumber(ARGV[i * 2]) then
        out[1] = i
    end
end
if out[1] == 0 then
    for i = 1, #KEYS do
        redis.call("INCRBY", KEYS[i], n)
        if redis.call("TTL", KEYS[i]) < 0 then
            redis.call("EXPIRE", KEYS[i], ARGV[i * 2 + 1])
        end
    end
end
return out
]])

local INCREMENT = redis.script([[
local n = tonumber(ARGV[1])
for i = 1, #KEYS do
    redis.call("INCRBY", KEYS[i], n)
    if redis.call("TTL", KEYS[i]) < 0 then
        redis.call("EXPIRE", KEYS[i], ARGV[i + 1])
    end
end
return 1
]])

local function run(conf, script, args)
    local red, err = redis.connect(conf.redis)
    if not red then
        return nil, err
    end
    local res
    res, err = redis.eval(red, script, unpack(args))
    if not res then
        red:close()
        return nil, "redis error: " .. tostring(err)
    end
    redis.release(red)
    return res
end

-- EVALSHA's arguments after the script: the key count, the keys, n, then
-- limit and ttl per key. They depend on the entries alone, and a list of
-- entries may serve many requests (rate-limiting keeps it for a second), so
-- they are built once per list and n.
local function consume_args(entries, n)
    local args = entries.redis_args
    if args and args.n == n then
        return args
    end
    local nk = #entries
    args = { nk, n = n }
    for i = 1, nk do
        args[i + 1] = entries[i].key
    end
    args[nk + 2] = n
    for i = 1, nk do
        args[nk + 1 + i * 2] = tostring(entries[i].limit)
        args[nk + 2 + i * 2] = entries[i].ttl
    end
    entries.redis_args = args
    return args
end

function _M.consume(_, conf, entries, n)
    local nk = #entries
    local res, err = run(conf, CONSUME, consume_args(entries, n))
    if not res then
        return nil, nil, err
    end
    local counts = {}
    for i = 1, nk do
        counts[i] = tonumber(res[i + 1]) or 0
    end
    local stop = tonumber(res[1])
    return counts, stop ~= 0 and stop or nil
end

function _M.usage(_, conf, entries)
    local red, err = redis.connect(conf.redis)
    if not red then
        return nil, err
    end
    local keys = {}
    for i = 1, #entries do
        keys[i] = entries[i].key
    end
    local res
    res, err = red:mget(unpack(keys))
    if type(res) ~= "table" then
        red:close()
        return nil, "redis error: " .. tostring(err)
    end
    redis.release(red)
    local counts = {}
    for i = 1, #entries do
        counts[i] = tonumber(res[i]) or 0
    end
    return counts
end

function _M.increment(_, conf, entries, n)
    local nk = #entries
    local args = { nk }
    for i = 1, nk do
        args[i + 1] = entries[i].key
        args[nk + 2 + i] = entries[i].ttl
    end
    args[nk + 2] = n
    local res, err = run(conf, INCREMENT, args)
    if not res then
        return nil, err
    end
    return true
end

return _M
