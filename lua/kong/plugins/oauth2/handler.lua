-- oauth2 (Kong 3.9): the authorization server's two endpoints under each
-- route's paths (authorize.lua, token.lua) and the bearer token check of
-- every other request. A token is found by a hash lookup in the
-- configuration this worker serves (kong.db.oauth2_tokens, whose index also
-- sees the tokens this node issued a moment ago); the datastore is never
-- queried on the request path.
local kong = require("kongpy.pdk")
local authorize = require("kong.plugins.oauth2.authorize")
local token_endpoint = require("kong.plugins.oauth2.token")

local ngx = ngx
local time = ngx.time

local type = type
local find = string.find
local match = string.match
local lower = string.lower

local request = kong.request
local auth = kong.auth
local set_header = ngx.req.set_header
local clear_header = ngx.req.clear_header

local ERR_INVALID = "The access token is invalid or has expired"
local ERR_GLOBAL = "The access token is global, but the current plugin is configured "
    .. "without 'global_credentials'"
local SCOPE_HEADER = "X-Authenticated-Scope"
local USERID_HEADER = "X-Authenticated-UserId"
local ENDPOINTS = { authorize = "authorization", token = "token" }
local EMPTY = {}

local OAuthHandler = {
    PRIORITY = 1400,
    VERSION = "3.9.1",
    INDEXES = { { "oauth2_tokens", "access_token" }, { "oauth2_credentials", "client_id" } },
}

local function bearer(conf)
    return conf.realm and ('Bearer realm="' .. conf.realm .. '"') or "Bearer"
end

local function failure(conf, code, description, with_error)
    local challenge = bearer(conf)
    if with_error then
        challenge = challenge .. ' error="' .. code .. '" error_description="'
            .. description .. '"'
    end
    return { status = 401, body = { error = code, error_description = description },
             headers = { ["WWW-Authenticate"] = challenge } }
end

-- The token the request carries, hidden from the service when asked.
local function find_token(conf)
    local name = conf.auth_header_name or "authorization"
    local value = request.get_header(name)
    if value then
        local scheme, token = match(value, "^%s*(%S+)%s+(%S+)%s*$")
        scheme = scheme and lower(scheme)
        if scheme == "bearer" or scheme == "token" then
            value = token
        end
        if conf.hide_credentials then
            kong.service.request.clear_header(name)
        end
        return value
    end
    local query = request.get_query()
    local token = query.access_token
    local body
    if token == nil and request.get_method() ~= "GET" then
        body = request.get_body()
        token = type(body) == "table" and body.access_token or nil
    end
    if type(token) ~= "string" then
        return nil
    end
    if conf.hide_credentials then
        if query.access_token ~= nil then
            query.access_token = nil
            kong.service.request.set_query(query)
        end
        local ctype = request.get_header("Content-Type")
        if body and ctype and find(ctype, "application/x-www-form-urlencoded", 1, true) then
            body.access_token = nil
            kong.service.request.set_body(body)
        end
    end
    return token
end

local function authenticate(conf)
    local value = find_token(conf)
    if not value or value == "" then
        return nil, failure(conf, "invalid_request", "The access token is missing")
    end
    local token = kong.db.oauth2_tokens:select_by_access_token(value)
    if not token then
        return nil, failure(conf, "invalid_token", ERR_INVALID, true)
    end
    -- a token bound to a service works there only, global_credentials or not
    local service_id = token.service and token.service.id
    if not service_id then
        if not conf.global_credentials then
            return nil, failure(conf, "invalid_token", ERR_GLOBAL, true)
        end
    elseif service_id ~= (kong.router.get_service() or EMPTY).id then
        return nil, failure(conf, "invalid_token", ERR_INVALID, true)
    end
    local expires_in = token.expires_in
    if expires_in > 0 and time() - token.created_at > expires_in then
        return nil, failure(conf, "invalid_token", ERR_INVALID, true)
    end
    local credential = kong.db.oauth2_credentials:select({ id = token.credential.id })
    local consumer = credential and kong.client.load_consumer(credential.consumer.id)
    if not consumer then
        return nil, failure(conf, "invalid_token", ERR_INVALID, true)
    end
    auth.set_consumer(consumer, credential, credential.client_id)
    if token.scope then
        set_header(SCOPE_HEADER, token.scope)
    else
        clear_header(SCOPE_HEADER)
    end
    if token.authenticated_userid then
        set_header(USERID_HEADER, token.authenticated_userid)
    else
        clear_header(USERID_HEADER)
    end
    return true
end

-- "authorize" or "token" when the path ends with /oauth2/<endpoint>[/].
local function endpoint(path)
    if not find(path, "/oauth2/", 1, true) then
        return nil
    end
    local name = match(path, "/oauth2/(%a+)/?$")
    return ENDPOINTS[name] and name or nil
end

function OAuthHandler:access(conf)
    if conf.anonymous and kong.client.get_credential() then
        return
    end
    local name = endpoint(request.get_path())
    if name then
        local method = request.get_method()
        if method ~= "POST" then
            return kong.response.exit(405, {
                error = "invalid_method",
                error_description = "The HTTP method " .. method .. " is invalid for the "
                    .. ENDPOINTS[name] .. " endpoint",
            })
        end
        if name == "token" then
            return token_endpoint(conf)
        end
        return authorize(conf)
    end
    local ok, err = authenticate(conf)
    if ok then
        return
    end
    if conf.anonymous then
        clear_header(SCOPE_HEADER)
        clear_header(USERID_HEADER)
        return auth.set_anonymous(conf.anonymous)
    end
    return kong.response.exit(err.status, err.body, err.headers)
end

return OAuthHandler
