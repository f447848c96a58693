-- kong.cache: a per-worker LRU whose entries live for one configuration
-- version (a new version starts from an empty cache, no invalidation needed).
local lrucache = require("resty.lrucache")
local store = require("kongpy.pdk.store")

local SIZE = 10000
local NIL = {}

local _M = {}

local lru = lrucache.new(SIZE)
local version

local function current()
    local v = store.version()
    if v ~= version then
        lru:flush_all()
        version = v
    end
    return lru
end

-- get(key, loader, ...): the cached value, or loader(...) cached (nil too).
function _M.get(key, loader, ...)
    local c = current()
    local v = c:get(key)
    if v == nil then
        if not loader then
            return nil
        end
        local err
        v, err = loader(...)
        if err then
            return nil, err
        end
        c:set(key, v == nil and NIL or v)
    end
    if v == NIL then
        return nil
    end
    return v
end

function _M.invalidate(key)
    current():delete(key)
end

return _M
