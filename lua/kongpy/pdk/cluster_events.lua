-- kong.cluster_events: events for the other nodes of the cluster.
--
-- Kong carries them through the datastore, which kongpy's data plane never
-- opens. A broadcast is queued on this node (a shared-dict list); the control
-- plane's sync loop takes the queue over the control socket (POST
-- /cluster-events/take) and appends each event to the datastore's event log.
-- Every other node's sync loop reads it there and hands it to its data plane
-- (POST /cluster-events), which runs the channel's subscribers in each
-- worker through kong.worker_events. As in Kong, the node that broadcast an
-- event does not receive it. Delivery takes one sync round on each side
-- (immediate on PostgreSQL, which pushes changes; `db_update_frequency`
-- otherwise), at most once: a data plane that cannot be reached when its
-- node reads the event misses it, as a Kong node whose polling started late.
local cjson = require("cjson.safe")
local events = require("kongpy.pdk.events")

local ngx = ngx
local type = type
local error = error
local ipairs = ipairs
local tonumber = tonumber
local encode = cjson.encode
local concat = table.concat

local QUEUE = "cluster_events:out"
local MAX_QUEUED = 1000
local SOURCE = "cluster_events"
local ERR_FULL = "too many cluster events waiting for the control plane"

local _M = { MAX_QUEUED = MAX_QUEUED }

local function dict()
    return ngx.shared.kongpy_cache
end

-- broadcast(channel, data[, delay]): true, or nil and an error. The other
-- nodes deliver it `delay` seconds after they receive it.
function _M.broadcast(_, channel, data, delay)
    if type(channel) ~= "string" then
        error("channel must be a string", 2)
    end
    if type(data) ~= "string" then
        error("data must be a string", 2)
    end
    if delay ~= nil and type(delay) ~= "number" then
        error("delay must be a number", 2)
    end
    local shm = dict()
    if shm:llen(QUEUE) >= MAX_QUEUED then
        return nil, ERR_FULL
    end
    local ok, err = shm:lpush(QUEUE, encode({ channel = channel, data = data,
                                              delay = delay or 0 }))
    if not ok then
        return nil, "cannot queue cluster event: " .. tostring(err)
    end
    return true
end

-- subscribe(channel, cb[, start_polling]): cb(data) runs, in each worker that
-- subscribed, for every event another node broadcasts on `channel`.
function _M.subscribe(_, channel, cb)
    if type(channel) ~= "string" then
        error("channel must be a string", 2)
    end
    if type(cb) ~= "function" then
        error("callback must be a function", 2)
    end
    events.register(function(data)
        cb(data)
    end, SOURCE, channel)
    return true
end

-- For the control socket: how many are queued, and the queue (oldest first,
-- at most `max`, as one JSON array) taken.
function _M.count()
    return dict():llen(QUEUE) or 0
end

function _M.take(max)
    local shm = dict()
    local items = {}
    for i = 1, max do
        local entry = shm:rpop(QUEUE)
        if not entry then
            break
        end
        items[i] = entry
    end
    return "[" .. concat(items, ",") .. "]"
end

local function post_later(premature, channel, data)
    if not premature then
        local ok, err = events.post(SOURCE, channel, data)
        if not ok then
            ngx.log(ngx.ERR, "cannot deliver cluster event on ", channel, ": ", err)
        end
    end
end

-- The events of other nodes ({channel, data, delay} each) to this node's
-- workers; an event broadcast with a delay waits that many seconds more.
function _M.deliver(list)
    local n = 0
    for _, ev in ipairs(list) do
        if type(ev) == "table" and type(ev.channel) == "string" and type(ev.data) == "string"
                and ev.channel ~= "" then
            local delay = tonumber(ev.delay) or 0
            local ok, err
            if delay > 0 then
                ok, err = ngx.timer.at(delay, post_later, ev.channel, ev.data)
            else
                ok, err = events.post(SOURCE, ev.channel, ev.data)
            end
            if not ok then
                return nil, err
            end
            n = n + 1
        end
    end
    return n
end

return _M
