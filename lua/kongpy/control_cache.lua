-- Kong's /cache Admin API endpoints, answered on the control socket: the
-- Admin API is not in nginx here, so it asks the worker that accepts the
-- request about kong.cache (its level 1, then the level 2 every worker
-- shares). Each function takes the request body ({"key": ...}) and returns
-- the status and the answer kongpy/admin/cache.py relays.
local cjson = require("cjson.safe")
local cache = require("kongpy.pdk.cache")
local db = require("kongpy.pdk.dao")
local store = require("kongpy.pdk.store")

local null = ngx.null
local type = type
local pcall = pcall
local tostring = tostring
local match = string.match

local _M = {}

local ERR_KEY = "invalid cache request: a string key is required"

local function key_of(body)
    local doc = cjson.decode(body or "")
    local key = type(doc) == "table" and doc.key
    if type(key) ~= "string" or key == "" then
        return nil
    end
    return key
end

-- A credential's cache key ("<entity>:<k1>:...:<k5>:<workspace>"): Kong
-- caches the credential on first use and drops it when it changes; here
-- every credential of the configuration the worker serves is at hand, so
-- such a key answers with the row while it exists, whatever its workspace
-- part (kongpy has one workspace). Only rows that belong to a consumer: a
-- plugin or consumer key that Kong drops on an update while the row stays
-- keeps answering 404, which waiting for that invalidation expects.
local function configured(key)
    local name, parts = match(key, "^([%w_]+)(:[^:]*:[^:]*:[^:]*:[^:]*:[^:]*):[^:]*$")
    local dao = name and db[name]
    if not dao then
        return nil
    end
    local row = dao:select_by_cache_key(name .. parts .. ":")
    if row and type(row.consumer) == "table" then
        return store.clean(row)
    end
end

-- {value = v} (null for a cached miss) while the key is cached, else 404
function _M.probe(body)
    local key = key_of(body)
    if not key then
        return 400, { message = ERR_KEY }
    end
    local ok, ttl, err, value = pcall(cache.probe, cache, key)
    if not ok or err then
        return 500, { message = tostring(ok and err or ttl) }
    end
    if not ttl then
        local row = configured(key)
        if row then
            return 200, { value = row }
        end
        return 404, { message = "Not found" }
    end
    if value == nil then
        value = null
    end
    return 200, { value = value }
end

function _M.invalidate(body)
    local key = key_of(body)
    if not key then
        return 400, { message = ERR_KEY }
    end
    cache.invalidate_local(cache, key)
    return 200, { invalidated = key }
end

function _M.purge()
    cache.purge(cache)
    return 200, { purged = true }
end

return _M
