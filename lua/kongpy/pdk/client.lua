-- kong.client: the client's address, the authenticated consumer/credential,
-- and the protocol of the matched route.
local store = require("kongpy.pdk.store")
local phase = require("kongpy.pdk.phase")

local ngx = ngx
local var = ngx.var
local get_headers = ngx.req.get_headers
local check = phase.check
local check_not = phase.check_not

local type = type
local error = error
local tonumber = tonumber
local find = string.find
local lower = string.lower

local INIT_WORKER = phase.PHASES.init_worker
local AUTH_AND_LATER = phase.new("access", "header_filter", "body_filter", "log")
local ACCESS = phase.PHASES.access
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local TABLE_OR_NIL = { table = true, ["nil"] = true }

local _M = {
    tls = require("kongpy.pdk.client_tls"),
}

function _M.get_ip()
    check_not("kong.client.get_ip", INIT_WORKER)
    return var.realip_remote_addr or var.remote_addr
end

function _M.get_forwarded_ip()
    check_not("kong.client.get_forwarded_ip", INIT_WORKER)
    return var.remote_addr
end

function _M.get_port()
    check_not("kong.client.get_port", INIT_WORKER)
    return tonumber(var.realip_remote_port or var.remote_port)
end

function _M.get_forwarded_port()
    check_not("kong.client.get_forwarded_port", INIT_WORKER)
    return tonumber(var.remote_port)
end

function _M.authenticate(consumer, credential)
    check("kong.client.authenticate", ACCESS)
    if not TABLE_OR_NIL[type(consumer)] then
        error("consumer must be a table or nil", 2)
    elseif not TABLE_OR_NIL[type(credential)] then
        error("credential must be a table or nil", 2)
    elseif credential == nil and consumer == nil then
        error("either credential or consumer must be provided", 2)
    end
    local ctx = ngx.ctx
    ctx.authenticated_consumer = consumer
    ctx.authenticated_credential = credential
end

function _M.get_consumer()
    check("kong.client.get_consumer", AUTH_AND_LATER)
    return ngx.ctx.authenticated_consumer
end

function _M.get_credential()
    check("kong.client.get_credential", AUTH_AND_LATER)
    return ngx.ctx.authenticated_credential
end

-- load_consumer(id, search_by_username): the consumer as Kong's DAO returns
-- it (no JSON nulls), by id, then by username when asked; one hash lookup
-- each in indexes built once per configuration version.
function _M.load_consumer(id, by_username)
    check("kong.client.load_consumer", AUTH_AND_LATER)
    if type(id) ~= "string" then
        error("consumer_id must be a string", 2)
    end
    local row = store.index("consumers", "id")[id]
    if row then
        return store.clean(row)
    end
    if not by_username then
        if not find(id, UUID) then
            error("cannot load a consumer with an id that is not a uuid", 2)
        end
        return nil
    end
    return store.clean(store.index("consumers", "username")[id])
end

-- get_protocol(allow_terminated): "http" or "https" for the matched route;
-- with allow_terminated a trusted client's X-Forwarded-Proto counts.
function _M.get_protocol(allow_terminated)
    check("kong.client.get_protocol", AUTH_AND_LATER)
    local route = ngx.ctx.kongpy_route
    if not route then
        return nil, "No active route found"
    end
    local protocols = route.protocols
    if type(protocols) == "table" and #protocols == 1 then
        return protocols[1]
    end
    if lower(var.scheme) == "https" then
        return "https"
    end
    if not allow_terminated or var.kongpy_trusted ~= "1" then
        return "http"
    end
    local proto = get_headers()["x-forwarded-proto"]
    if type(proto) == "table" then
        return nil, "Only one X-Forwarded-Proto header allowed"
    end
    return proto and lower(proto) == "https" and "https" or "http"
end

return _M
