-- kong.cluster_events: Kong carries these between nodes through the
-- datastore, which the data plane never opens. Broadcasting raises; a
-- subscription is accepted and, as no node can broadcast, never called.
local type = type
local error = error

local ERR_BROADCAST = "kong.cluster_events:broadcast: not supported: cluster events travel "
                      .. "through the datastore, which kongpy's data plane does not reach "
                      .. "(use kong.worker_events for the workers of this node)"

local _M = {}

function _M.broadcast(_, channel)
    if type(channel) ~= "string" then
        error("channel must be a string", 2)
    end
    error(ERR_BROADCAST, 2)
end

function _M.subscribe(_, channel, cb)
    if type(channel) ~= "string" then
        error("channel must be a string", 2)
    end
    if type(cb) ~= "function" then
        error("callback must be a function", 2)
    end
    return true
end

return _M
