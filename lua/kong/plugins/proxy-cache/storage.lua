-- proxy-cache's memory strategy: entries in a shared dictionary, so every
-- worker of the node serves what one of them stored.
--
-- An entry is one value: its metadata as JSON (status, headers, timestamp,
-- ttl, version, body_len, req_body: Kong's cached object but the body),
-- a newline (JSON has none of its own), then the body. Each worker keeps
-- the decoded form of the values it met, keyed by cache key and checked
-- against the value just read (equal strings are one object in LuaJIT, so
-- the check is a pointer comparison): a hit decodes nothing.
--
-- A missing key is filled by one request of the node at a time: the first
-- takes a lock (an `add` in the same dictionary, "lock:<key>"), the others
-- wait until it is released, up to LOCK_WAIT seconds, then read the entry
-- or go to the upstream themselves (without waiting again).
local cjson = require("cjson.safe")
local lrucache = require("resty.lrucache")

local ngx = ngx
local shared = ngx.shared
local sleep = ngx.sleep
local now = ngx.now
local update_time = ngx.update_time
local find = string.find
local sub = string.sub
local type = type

local ERR_NOT_FOUND = "request object not in cache"
local ERR_DICT = "missing shared dict '%s'"
local CACHE_VERSION = 1
local WORKER_ENTRIES = 1000
-- a lock outlives a request that never releases it (a killed worker) by this
local LOCK_TTL = 30
-- how long a request waits for another to fill the key
local LOCK_WAIT = 5
local LOCK_PREFIX = "lock:"

local _M = {
    ERR_NOT_FOUND = ERR_NOT_FOUND,
    CACHE_VERSION = CACHE_VERSION,
}

local decoded = lrucache.new(WORKER_ENTRIES)

local function dict_of(name)
    local dict = shared[name]
    if not dict then
        return nil, ERR_DICT:format(name)
    end
    return dict
end
_M.dict_of = dict_of

local function decode(key, value)
    local cached = decoded:get(key)
    if cached and cached.raw == value then
        return cached
    end
    local nl = find(value, "\n", 1, true)
    local meta = nl and cjson.decode(sub(value, 1, nl - 1))
    if type(meta) ~= "table" then
        return nil, "could not decode request object"
    end
    meta.body = sub(value, nl + 1)
    meta.raw = value
    decoded:set(key, meta)
    return meta
end

-- The entry of `key` (the worker's decoded table: do not change it), or nil
-- and ERR_NOT_FOUND or another error.
function _M.fetch(dict, key)
    local value, err = dict:get(key)
    if not value then
        return nil, err or ERR_NOT_FOUND
    end
    return decode(key, value)
end

-- Kong's cached object, for the Admin API.
function _M.object(dict, key)
    local res, err = _M.fetch(dict, key)
    if not res then
        return nil, err
    end
    return {
        status = res.status, headers = res.headers, body = res.body,
        body_len = res.body_len, timestamp = res.timestamp, ttl = res.ttl,
        version = res.version, req_body = res.req_body,
    }
end

function _M.store(dict, key, res, ttl)
    local body = res.body
    res.body = nil
    local meta, err = cjson.encode(res)
    res.body = body
    if not meta then
        return nil, "could not encode request object: " .. err
    end
    local ok, serr = dict:set(key, meta .. "\n" .. body, ttl)
    if not ok then
        return nil, serr
    end
    return true
end

function _M.purge(dict, key)
    dict:delete(key)
    return true
end

function _M.flush(dict)
    dict:flush_all()
    dict:flush_expired()
    return true
end

-- true: the caller fills `key` and must release it; false: another request
-- does.
function _M.lock(dict, key)
    local ok, err = dict:add(LOCK_PREFIX .. key, true, LOCK_TTL)
    if ok then
        return true
    end
    if err ~= "exists" then
        -- no memory for the lock: fill without one rather than wait
        return true
    end
    return false
end

function _M.unlock(dict, key)
    dict:delete(LOCK_PREFIX .. key)
end

-- Waits (yielding) until the lock of `key` is released or LOCK_WAIT passed.
function _M.wait(dict, key)
    local lock_key = LOCK_PREFIX .. key
    local step = 0.002
    update_time()
    local deadline = now() + LOCK_WAIT
    while dict:get(lock_key) do
        if now() >= deadline then
            return false
        end
        sleep(step)
        step = step < 0.05 and step * 2 or step
    end
    return true
end

return _M
