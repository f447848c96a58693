-- kong.client: the client address and the authenticated consumer/credential.
local store = require("kongpy.pdk.store")

local ngx = ngx
local var = ngx.var

local _M = {}

function _M.get_ip()
    return var.realip_remote_addr or var.remote_addr
end

function _M.get_forwarded_ip()
    return var.remote_addr
end

function _M.get_port()
    return var.remote_port
end

function _M.authenticate(consumer, credential)
    local ctx = ngx.ctx
    ctx.authenticated_consumer = consumer
    ctx.authenticated_credential = credential
end

function _M.get_consumer()
    return ngx.ctx.authenticated_consumer
end

function _M.get_credential()
    return ngx.ctx.authenticated_credential
end

-- load_consumer(id_or_username, search_by_username)
function _M.load_consumer(key, by_username)
    local consumer = store.index("consumers", "id")[key]
    if not consumer and by_username then
        consumer = store.index("consumers", "username")[key]
    end
    return consumer
end

return _M
