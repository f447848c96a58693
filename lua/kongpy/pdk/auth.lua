-- What every authentication plugin does once it knows (or fails to know) the
-- consumer: Kong's upstream X-Consumer-* headers and the anonymous fallback.
local client = require("kongpy.pdk.client")
local response = require("kongpy.pdk.response")
local log = require("kongpy.pdk.log")
local rehash = require("kongpy.rehash")

local ngx = ngx
local null = ngx.null
-- the header names are constants: no checks needed on this path
local set_header = ngx.req.set_header
local clear_header = ngx.req.clear_header

local ERR_ANONYMOUS = "anonymous consumer %s is configured but doesn't exist"

local _M = {
    CONSUMER_ID = "X-Consumer-ID",
    CONSUMER_CUSTOM_ID = "X-Consumer-Custom-ID",
    CONSUMER_USERNAME = "X-Consumer-Username",
    CREDENTIAL_IDENTIFIER = "X-Credential-Identifier",
    ANONYMOUS = "X-Anonymous-Consumer",
    CONSUMER_GROUPS = "X-Consumer-Groups",
    AUTHENTICATED_GROUPS = "X-Authenticated-Groups",
}

local function set_or_clear(name, value)
    if value ~= nil and value ~= null then
        set_header(name, value)
    else
        clear_header(name)
    end
end

-- Records the consumer and sets (or clears: client-sent values are never
-- trusted) the consumer headers; `identifier` is the credential's public name.
function _M.set_consumer(consumer, credential, identifier)
    if consumer == nil and credential == nil then
        -- kong.client.authenticate's own refusal
        client.authenticate(consumer, credential)
    end
    -- what kong.client.authenticate records, without its phase check: the
    -- authentication plugins call this in access with stored rows
    local ctx = ngx.ctx
    ctx.authenticated_consumer = consumer
    ctx.authenticated_credential = credential
    set_or_clear(_M.CONSUMER_ID, consumer and consumer.id)
    set_or_clear(_M.CONSUMER_CUSTOM_ID, consumer and consumer.custom_id)
    set_or_clear(_M.CONSUMER_USERNAME, consumer and consumer.username)
    set_or_clear(_M.CREDENTIAL_IDENTIFIER, credential and identifier)
    if credential then
        clear_header(_M.ANONYMOUS)
    else
        set_header(_M.ANONYMOUS, "true")
    end
end

-- Authenticates the `anonymous` consumer (by id or username); 500 as Kong
-- when it does not exist.
function _M.set_anonymous(anonymous)
    local consumer = client.load_consumer(anonymous, true)
    if not consumer then
        local msg = ERR_ANONYMOUS:format(anonymous)
        log.err(msg)
        return response.error(500, msg)
    end
    return _M.set_consumer(consumer, nil, nil)
end

-- queue_rehash(entity, id, old, make, secret): after a successful login against
-- a legacy hash `old`, hands the control plane `make(secret)` (the stronger
-- hash) to store by compare-and-set; `make` runs only when the credential is
-- not already queued. The clear text never leaves the worker.
_M.queue_rehash = rehash.queue

-- Kong's two modes: with `anonymous`, a logical OR across auth plugins (skip
-- when another one already authenticated; fall back to anonymous on failure);
-- without, any failure ends the request.
function _M.run(conf, authenticate)
    if conf.anonymous then
        if client.get_credential() then
            return
        end
        local ok = authenticate(conf)
        if not ok then
            return _M.set_anonymous(conf.anonymous)
        end
        return
    end
    local ok, err = authenticate(conf)
    if not ok then
        return response.error(err.status, err.message, err.headers)
    end
end

return _M
