-- Credential re-hashes waiting for the control plane. An auth plugin that
-- accepted a password stored in a legacy format computes the stronger hash
-- itself (only the data plane ever sees the clear text) and queues it here;
-- the sync loop takes the queue over the control socket (POST /rehash) and
-- writes each entry by compare-and-set. Data still flows one way: the data
-- plane never writes to the datastore, it only answers the control plane.
--
-- Bounded and lossy on purpose: a full queue, an evicted entry or a control
-- plane that could not write just means the next login after RETRY_AFTER
-- queues the credential again.
local cjson = require("cjson.safe")

local ngx = ngx
local encode = cjson.encode
local concat = table.concat

local QUEUE = "rehash:queue"
local CLAIM = "rehash:claim:"
local MAX_QUEUED = 1000
-- One claim per credential and node: concurrent logins compute one new hash.
local RETRY_AFTER = 60

local _M = {
    MAX_QUEUED = MAX_QUEUED,
    RETRY_AFTER = RETRY_AFTER,
}

local dict = ngx.shared.kongpy_cache

-- queue(entity, id, old, make, secret): when `id` is not already queued (or
-- claimed less than RETRY_AFTER ago) and the queue has room, stores
-- {entity, id, old, new = make(secret)}. Returns true when queued.
function _M.queue(entity, id, old, make, secret)
    if dict:llen(QUEUE) >= MAX_QUEUED then
        return false
    end
    if not dict:add(CLAIM .. entity .. ":" .. id, true, RETRY_AFTER) then
        return false
    end
    local new = make(secret)
    if not new then
        return false
    end
    local entry = encode({ entity = entity, id = id, old = old, new = new })
    return entry ~= nil and dict:lpush(QUEUE, entry) ~= nil
end

function _M.count()
    return dict:llen(QUEUE) or 0
end

-- The queued entries (oldest first, at most `max`) as one JSON array, removed
-- from the queue.
function _M.take(max)
    local items = {}
    for i = 1, max do
        local entry = dict:rpop(QUEUE)
        if not entry then
            break
        end
        items[i] = entry
    end
    return "[" .. concat(items, ",") .. "]"
end

return _M
