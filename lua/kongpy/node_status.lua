-- What the control plane tells the data plane about the node (pushed over
-- the control socket, one direction): whether the datastore answers and, on
-- DB-less nodes, the hash of the configuration loaded. Plus `kong drain`'s
-- flag and Kong 3.9's readiness rule (GET /status/ready, docs/metrics.md).
local settings = require("kongpy.settings")

local ngx = ngx
local shared = ngx.shared
local worker_count = ngx.worker.count
local null = ngx.null

local type = type
local format = string.format

local EMPTY_HASH = string.rep("0", 32)
local ERR_DB = "failed to connect to database"
local ERR_ROUTER = "router builds not yet complete"
local ERR_ROUTER_WORKERS = "router builds not yet complete, router ready in %d of %d workers"
local ERR_NO_HASH = "no configuration available (configuration hash is not initialized)"
local ERR_EMPTY = "no configuration available (empty configuration present)"
local ERR_DRAINING = "draining"

local DB_KEY = "node:db_reachable"
local HASH_KEY = "node:configuration_hash"
local DRAINING_KEY = "node:draining"

local _M = {}

local function dict()
    return shared.kongpy_snapshot
end

function _M.dbless()
    return settings.configuration.database == "off"
end

-- {database_reachable = bool, configuration_hash = string|null}; fields
-- left out keep their value.
function _M.push(doc)
    if type(doc) ~= "table" then
        return nil, "expected an object"
    end
    local reachable, hash = doc.database_reachable, doc.configuration_hash
    if reachable ~= nil and type(reachable) ~= "boolean" then
        return nil, "database_reachable must be a boolean"
    end
    if hash ~= nil and hash ~= null and type(hash) ~= "string" then
        return nil, "configuration_hash must be a string or null"
    end
    local d = dict()
    if reachable ~= nil then
        d:set(DB_KEY, reachable)
    end
    if hash == null then
        d:delete(HASH_KEY)
    elseif hash ~= nil then
        d:set(HASH_KEY, hash)
    end
    return true
end

-- What was pushed last (GET /snapshot reports it, so the control plane
-- pushes only changes).
function _M.facts()
    local d = dict()
    local reachable = d:get(DB_KEY)
    local hash = d:get(HASH_KEY)
    return { database_reachable = reachable == nil and null or reachable,
             configuration_hash = hash or null }
end

-- true, false, or nil before the control plane said; DB-less nodes have no
-- datastore to lose (Kong's "off" connector always connects).
function _M.database_reachable()
    if _M.dbless() then
        return true
    end
    return dict():get(DB_KEY)
end

function _M.configuration_hash()
    return dict():get(HASH_KEY)
end

function _M.set_draining()
    return dict():set(DRAINING_KEY, true)
end

-- How many workers serve a configuration, and how many there are.
function _M.workers_ready()
    local d, n = dict(), worker_count()
    local ready = 0
    for id = 0, n - 1 do
        local v = d:get("worker_version:" .. id)
        if v and v >= 0 then
            ready = ready + 1
        end
    end
    return ready, n
end

-- true, or false and Kong's reason.
function _M.ready()
    if dict():get(DRAINING_KEY) then
        return false, ERR_DRAINING
    end
    if not _M.database_reachable() then
        return false, ERR_DB
    end
    local ready, n = _M.workers_ready()
    if ready == 0 and not _M.dbless() then
        return false, ERR_ROUTER
    end
    if ready < n then
        return false, format(ERR_ROUTER_WORKERS, ready, n)
    end
    if _M.dbless() then
        local hash = _M.configuration_hash()
        if not hash or hash == "" then
            return false, ERR_NO_HASH
        end
        if hash == EMPTY_HASH then
            return false, ERR_EMPTY
        end
    end
    return true
end

_M.EMPTY_HASH = EMPTY_HASH

return _M
