-- key-auth (Kong 3.9): an API key in a header, the query string or the body.
local kong = require("kongpy.pdk")

local ngx = ngx
local get_method = ngx.req.get_method
local type = type
local ipairs = ipairs

local request = kong.request
local store = kong.store
local auth = kong.auth

local ERR_NO_KEY = "No API key found in request"
local ERR_DUPLICATE = "Duplicate API key found"
local ERR_INVALID = "Unauthorized"
local ERR_CONF = "Invalid plugin configuration"

local KeyAuthHandler = {
    PRIORITY = 1250,
    VERSION = "3.9.1",
    INDEXES = { { "keyauth_credentials", "key" } },
}

-- The WWW-Authenticate value is built on the refusal path only.
local function unauthorized(conf, message)
    local realm = conf.realm
    return { status = 401, message = message,
             headers = { ["WWW-Authenticate"] = realm and ('Key realm="' .. realm .. '"')
                                                or "Key" } }
end

-- Kong 3.9: only the key leaves the query string (the other arguments keep
-- their order and bytes); the body is re-encoded in its own content type.
local function hide(conf, name, body)
    kong.service.request.clear_query_arg(name)
    kong.service.request.clear_header(name)
    if conf.key_in_body and body then
        body[name] = nil
        kong.service.request.set_body(body)
    end
end

-- Only the configured header names are read, and the query string is parsed
-- only once no header carried a key.
local function find_key(conf)
    local query, body
    for _, name in ipairs(conf.key_names) do
        local v
        if conf.key_in_header then
            v = request.get_header_values(name)
        end
        if v == nil and conf.key_in_query then
            query = query or request.get_query()
            v = query[name]
        end
        if v == nil and conf.key_in_body then
            if not body then
                local err
                body, err = request.get_body()
                if not body then
                    kong.log.err("cannot read request body: ", err)
                    body = {}
                end
            end
            v = body[name]
        end
        if type(v) == "string" then
            if conf.hide_credentials then
                hide(conf, name, body)
            end
            return v
        elseif type(v) == "table" then
            return nil, unauthorized(conf, ERR_DUPLICATE)
        end
    end
end

local function authenticate(conf)
    if type(conf.key_names) ~= "table" then
        return nil, { status = 500, message = ERR_CONF }
    end
    local key, err = find_key(conf)
    if err then
        return nil, err
    end
    if not key or key == "" then
        return nil, unauthorized(conf, ERR_NO_KEY)
    end
    local credential = store.index("keyauth_credentials", "key")[key]
    if not credential or store.expired(credential) then
        return nil, unauthorized(conf, ERR_INVALID)
    end
    -- kong.client.load_consumer(id) without its phase and argument checks:
    -- the id is the stored credential's
    local consumer = store.clean(store.index("consumers", "id")[credential.consumer.id])
    if not consumer then
        return nil, unauthorized(conf, ERR_INVALID)
    end
    auth.set_consumer(consumer, credential, credential.id)
    return true
end

function KeyAuthHandler:access(conf)
    if not conf.run_on_preflight and get_method() == "OPTIONS" then
        return
    end
    return auth.run(conf, authenticate)
end

return KeyAuthHandler
