-- key-auth (Kong 3.9): an API key in a header, the query string or the body.
local kong = require("kongpy.pdk")

local ngx = ngx
local get_method = ngx.req.get_method
local type = type
local setmetatable = setmetatable

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

-- Kong's sentinel for a body that cannot be parsed: read as empty, never
-- written back.
local UNREADABLE = setmetatable({}, { __newindex = function() end })

local function read_body()
    local body, err = request.get_body()
    if not body then
        -- Kong logs this at info: the client's body, not a fault
        kong.log.info("Cannot process request body: ", err)
        return UNREADABLE
    end
    return body
end

-- Kong 3.9: only the key leaves the query string (the other arguments keep
-- their order and bytes); with key_in_body the body is re-encoded in its own
-- content type, also when the key came from a header or the query string.
local function hide(conf, name, body)
    kong.service.request.clear_query_arg(name)
    kong.service.request.clear_header(name)
    if conf.key_in_body then
        body = body or read_body()
        if body ~= UNREADABLE then
            body[name] = nil
            kong.service.request.set_body(body)
        end
    end
end

-- The value `name` carries (header, then query, then body, as configured),
-- with the query and body parsed so far for the next name. The query string
-- is parsed only once no header carried a key.
local function lookup(conf, name, query, body)
    local v
    if conf.key_in_header then
        v = request.get_header_values(name)
    end
    if v == nil and conf.key_in_query then
        query = query or request.get_query()
        v = query[name]
    end
    if v == nil and conf.key_in_body then
        body = body or read_body()
        v = body[name]
    end
    return v, query, body
end

-- key, or nil and the refusal when the name came more than once, or nothing
-- when it carried no key
local function accept(conf, name, v, body)
    if type(v) == "string" then
        if conf.hide_credentials then
            hide(conf, name, body)
        end
        return v
    elseif type(v) == "table" then
        return nil, unauthorized(conf, ERR_DUPLICATE)
    end
end

local function find_key(conf)
    local names = conf.key_names
    local n = #names
    if n == 1 then
        -- Kong's default: one name, and no loop. LuaJIT never sees a loop
        -- that runs once per request come round; it aborts every trace
        -- containing it and in the end blacklists the functions around it,
        -- leaving the access phase interpreted (lua/kongpy/traceable.lua).
        local name = names[1]
        local v, _, body = lookup(conf, name)
        return accept(conf, name, v, body)
    end
    local query, body
    for i = 1, n do
        local name = names[i]
        local v
        v, query, body = lookup(conf, name, query, body)
        local key, err = accept(conf, name, v, body)
        if key or err then
            return key, err
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
