-- kong.cache: Kong's two-level cache (kong.cache:get(key, opts, cb, ...)).
--
-- Two kinds of entries, told apart by the key:
-- * an entity cache key ("<entity>:...", what kong.db.<entity>:cache_key()
--   builds) holds something derived from the configuration: it lives in a
--   per-worker LRU that is emptied whenever the configuration version changes,
--   which is how Kong's entity invalidations reach it here;
-- * any other key follows ttl/neg_ttl, in a per-worker LRU (level 1) and the
--   kongpy_cache shared dict (level 2, values that can be stored as text:
--   strings, numbers, booleans, JSON-able tables; others stay in level 1).
-- invalidate()/purge() delete level 2 at once and reach the other workers'
-- level 1 through kong.worker_events (within its 0.1 s poll); invalidate()
-- also reaches the other nodes, as Kong's does, through kong.cluster_events
-- (channel "invalidations").
local lrucache = require("resty.lrucache")
local cjson = require("cjson.safe")
local store = require("kongpy.pdk.store")
local settings = require("kongpy.settings")
local events = require("kongpy.pdk.events")
local cluster_events = require("kongpy.pdk.cluster_events")

local ngx = ngx
local now = ngx.now
local log = ngx.log
local ERR = ngx.ERR

local type = type
local error = error
local pcall = pcall
local tostring = tostring
local tonumber = tonumber
local find = string.find
local sub = string.sub
local byte = string.byte
local format = string.format

local SIZE = 10000
local SOURCE = "kongpy:cache"
local GEN = "c:gen"
local S, N, B, T, NEG = byte("s"), byte("n"), byte("b"), byte("t"), byte("-")

local _M = {}

local own = lrucache.new(SIZE)
local derived_lru = lrucache.new(SIZE)
local version
local gen = 0

local function shm()
    return ngx.shared.kongpy_cache
end

-- The per-version LRU, emptied when the configuration changed.
local function derived()
    local v = store.version()
    if v ~= version then
        derived_lru:flush_all()
        version = v
    end
    return derived_lru
end

local function is_entity_key(key)
    local p = find(key, ":", 1, true)
    if not p then
        return false
    end
    local name = sub(key, 1, p - 1)
    local cur = store.current
    return (cur and cur.entities[name] ~= nil) or settings.entities[name] ~= nil
end

local function l2_key(key)
    return "c:" .. gen .. ":" .. key
end

local function marshal(v)
    local t = type(v)
    if v == nil then
        return "-"
    elseif t == "string" then
        return "s" .. v
    elseif t == "number" then
        return "n" .. format("%.17g", v)
    elseif t == "boolean" then
        return v and "b1" or "b0"
    elseif t == "table" then
        local json = cjson.encode(v)
        return json and "t" .. json
    end
end

local function unmarshal(raw)
    local tag = byte(raw, 1)
    if tag == S then
        return sub(raw, 2)
    elseif tag == N then
        return tonumber(sub(raw, 2))
    elseif tag == B then
        return byte(raw, 2) == byte("1")
    elseif tag == T then
        return cjson.decode(sub(raw, 2))
    elseif tag == NEG then
        return nil
    end
end

-- Level 1 entries: {v = value, exp = absolute expiry, 0 when none}.
local function remember(lru, key, v, ttl)
    lru:set(key, { v = v, exp = ttl > 0 and now() + ttl or 0 }, ttl > 0 and ttl or nil)
end

local function ttl_of(v, opts, override)
    if type(override) == "number" then
        return override
    end
    local ttl = opts and (v == nil and opts.neg_ttl or opts.ttl)
    return type(ttl) == "number" and ttl or 0
end

local function check_args(key, opts, cb)
    if type(key) ~= "string" then
        error("key must be a string", 3)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error("opts must be a table", 3)
    end
    if cb ~= nil and type(cb) ~= "function" then
        error("callback must be a function", 3)
    end
end

-- get(key, opts, cb, ...): value, err, hit level (1, 2, or 3 for the
-- callback). The callback returns value[, err[, ttl]]; an error (returned or
-- raised) is returned and nothing is cached; nil is cached for neg_ttl.
function _M.get(_, key, opts, cb, ...)
    check_args(key, opts, cb)
    local entity = is_entity_key(key)
    local lru = entity and derived() or own
    local e = lru:get(key)
    if e then
        return e.v, nil, 1
    end
    local dict = not entity and shm()
    if dict then
        local k2 = l2_key(key)
        local raw = dict:get(k2)
        if raw ~= nil then
            local v = unmarshal(raw)
            -- nil when it expired in between: not kept at level 1 then
            local left = dict:ttl(k2)
            if left then
                remember(lru, key, v, left)
            end
            return v, nil, 2
        end
    end
    if not cb then
        return nil
    end
    local ok, v, err, ttl = pcall(cb, ...)
    if not ok then
        return nil, "callback threw an error: " .. tostring(v)
    end
    if err ~= nil then
        return nil, err
    end
    ttl = ttl_of(v, opts, ttl)
    if ttl < 0 then
        return v, nil, 3
    end
    remember(lru, key, v, ttl)
    if dict then
        local raw = marshal(v)
        if raw then
            dict:set(l2_key(key), raw, ttl)
        end
    end
    return v, nil, 3
end

-- get_bulk({key, opts, cb, arg, ..., n = n}, opts): {value, err, hit, ..., n = n}
function _M.get_bulk(self, bulk, opts)
    if type(bulk) ~= "table" or type(bulk.n) ~= "number" then
        error("bulk must be a table with a number of operations `n`", 2)
    end
    local res = { n = bulk.n }
    for i = 0, bulk.n - 1 do
        local b, r = i * 4, i * 3
        res[r + 1], res[r + 2], res[r + 3] = _M.get(self, bulk[b + 1], bulk[b + 2] or opts,
                                                    bulk[b + 3], bulk[b + 4])
    end
    return res
end

-- probe(key): remaining ttl (0: none), nil, value; nil when not cached.
function _M.probe(_, key)
    check_args(key)
    local entity = is_entity_key(key)
    local e = (entity and derived() or own):get(key)
    if e then
        local left = e.exp > 0 and e.exp - now() or 0
        return left, nil, e.v
    end
    local dict = not entity and shm()
    if dict then
        local k2 = l2_key(key)
        local raw = dict:get(k2)
        if raw ~= nil then
            return dict:ttl(k2) or 0, nil, unmarshal(raw)
        end
    end
    return nil
end

local function forget(key)
    own:delete(key)
    derived_lru:delete(key)
end

-- invalidate_local(key): gone from level 2 now, from every worker's level 1
-- at their next poll (this worker's at once).
function _M.invalidate_local(_, key)
    check_args(key)
    local dict = shm()
    if dict then
        dict:delete(l2_key(key))
    end
    forget(key)
    return events.post(SOURCE, "invalidate", key)
end

-- invalidate(key): invalidate_local(key), then the same on the other nodes.
function _M.invalidate(self, key)
    local ok, err = _M.invalidate_local(self, key)
    if not ok then
        return nil, err
    end
    ok, err = cluster_events.broadcast(nil, "invalidations", key)
    if not ok then
        log(ERR, "cannot broadcast the invalidation of ", key, ": ", err)
    end
    return true
end

-- purge(): every entry, in every worker.
function _M.purge()
    local dict = shm()
    local g = dict and dict:incr(GEN, 1, 0) or gen + 1
    gen = g
    own:flush_all()
    derived_lru:flush_all()
    return events.post(SOURCE, "purge", g)
end

local function on_event(data, event)
    if event == "invalidate" then
        forget(data)
    elseif event == "purge" then
        gen = tonumber(data) or gen
        own:flush_all()
        derived_lru:flush_all()
    end
end

-- another node invalidated `key`
local function on_remote_invalidation(key)
    local dict = shm()
    if dict then
        dict:delete(l2_key(key))
    end
    forget(key)
end

function _M.init_worker()
    local dict = shm()
    gen = dict and dict:get(GEN) or 0
    events.register(on_event, SOURCE)
    cluster_events.subscribe(nil, "invalidations", on_remote_invalidation)
end

return _M
