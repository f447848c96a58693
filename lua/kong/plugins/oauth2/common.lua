-- What oauth2's two endpoints share (Kong 3.9): their parameters, the
-- scope check, the application lookup, token creation and the reply.
-- Codes and tokens are stored before the reply leaves, through kong.db,
-- which hands the data plane's writes to the control plane (kongpy.dpwrite).
local rand = require("kong.tools.rand")
local http = require("kong.tools.http")
local secret = require("kong.plugins.oauth2.secret")

local kong = kong
local ngx = ngx
local null = ngx.null

local type = type
local ipairs = ipairs
local pairs = pairs
local concat = table.concat
local gmatch = string.gmatch
local match = string.match
local lower = string.lower

local ERR_UNEXPECTED = "An unexpected error occurred"
local NO_CACHE = { ["Cache-Control"] = "no-store", ["Pragma"] = "no-cache" }

local _M = {
    random_string = rand.random_string,
}

function _M.error(code, description)
    return { error = code, error_description = description }
end

local invalid_error = _M.error

-- Kong's answer to a datastore failure: the cause in the log only.
function _M.internal_error(err)
    kong.log.err(err)
    return kong.response.exit(500, { message = ERR_UNEXPECTED })
end

-- The query merged with the body (POST, PUT, PATCH), the body winning.
function _M.parameters()
    local args = kong.request.get_query()
    local method = kong.request.get_method()
    if method == "POST" or method == "PUT" or method == "PATCH" then
        local body = kong.request.get_body()
        if type(body) == "table" then
            local merged = {}
            for k, v in pairs(args) do
                merged[k] = v
            end
            for k, v in pairs(body) do
                merged[k] = v
            end
            return merged
        end
    end
    return args
end

-- A parameter that is a string, else nil (repeated or valueless ones).
function _M.string_param(params, name)
    local v = params[name]
    return type(v) == "string" and v or nil
end

local function contains(list, value)
    for _, v in ipairs(list or {}) do
        if v == value then
            return true
        end
    end
    return false
end
_M.contains = contains

-- The requested scopes, space-joined (nil for none), or nil and the error.
function _M.scope(params, conf)
    local scope = params.scope
    local scopes = {}
    if conf.scopes and scope ~= nil then
        if type(scope) ~= "string" then
            return nil, invalid_error("invalid_scope", "scope must be a string")
        end
        for v in gmatch(scope, "%S+") do
            if not contains(conf.scopes, v) then
                return nil, invalid_error("invalid_scope", '"' .. v .. '" is an invalid scope')
            end
            scopes[#scopes + 1] = v
        end
    elseif scope == nil and conf.mandatory_scope then
        return nil, invalid_error("invalid_scope", "You must specify a scope")
    end
    if #scopes > 0 then
        return concat(scopes, " ")
    end
end

-- The application of `client_id` (an oauth2_credentials row) or nil.
function _M.client(client_id)
    if type(client_id) ~= "string" or client_id == "" then
        return nil
    end
    return kong.db.oauth2_credentials:select_by_client_id(client_id)
end

-- Whether `given` is the application's secret (hashed or not).
function _M.secret_matches(client, given)
    if type(given) ~= "string" then
        return false
    end
    if client.hash_secret then
        return secret.verify(given, client.client_secret)
    end
    return client.client_secret == given
end

-- Whether the request came over TLS (or, with
-- accept_http_if_already_terminated, from a trusted peer saying so).
function _M.https(conf)
    local scheme = kong.request.get_scheme()
    if lower(scheme) == "https" then
        return true
    end
    if not conf.accept_http_if_already_terminated
        or not kong.ip.is_trusted(kong.client.get_ip()) then
        return false
    end
    local proto = kong.request.get_header_values("X-Forwarded-Proto")
    if type(proto) == "table" then
        return nil, "Only one X-Forwarded-Proto header allowed"
    end
    return proto ~= nil and lower(proto) == "https"
end

local function ttl_of(conf, token_expiration, keep)
    if keep and type(keep.expires_at) == "number" then
        -- persistent_refresh_token: the refresh token keeps its first expiry
        local left = keep.expires_at - ngx.now()
        return left >= 1 and math.ceil(left) or 1
    end
    if token_expiration > 0 and conf.refresh_token_ttl and conf.refresh_token_ttl > 0 then
        return conf.refresh_token_ttl
    end
end

-- Stores a new token (or, on a refresh with reuse_refresh_token, gives the
-- presented one a new access token) and returns the reply's body; nil and
-- the error when the datastore refused.
function _M.token(conf, service, client, userid, scope, state, no_refresh, existing)
    local expiration = conf.token_expiration
    local keep = conf.persistent_refresh_token and existing or nil
    local ttl = ttl_of(conf, expiration, keep)
    local row, err
    if existing and conf.reuse_refresh_token then
        row, err = kong.db.oauth2_tokens:update({ id = existing.id }, {
            access_token = rand.random_string(),
            expires_in = expiration,
            created_at = ngx.time(),
        }, { ttl = ttl })
    else
        local refresh_token
        if not no_refresh and expiration > 0 then
            refresh_token = rand.random_string()
        end
        local service_id = not conf.global_credentials and service and service.id
        row, err = kong.db.oauth2_tokens:insert({
            service = service_id and { id = service_id } or null,
            credential = { id = client.id },
            authenticated_userid = userid,
            expires_in = expiration,
            refresh_token = refresh_token,
            scope = scope,
        }, { ttl = ttl })
    end
    if not row then
        return nil, err
    end
    return {
        access_token = row.access_token,
        token_type = "bearer",
        expires_in = expiration > 0 and row.expires_in or nil,
        refresh_token = row.refresh_token,
        state = state,
    }
end

-- The endpoints' answer: JSON, never cached.
function _M.reply(status, body, www_authenticate)
    local headers = NO_CACHE
    if www_authenticate then
        headers = { ["Cache-Control"] = "no-store", ["Pragma"] = "no-cache",
                    ["WWW-Authenticate"] = www_authenticate }
    end
    return kong.response.exit(status, body, headers)
end

-- scheme://authority/path, query and fragment of a registered redirect URI.
function _M.split_uri(uri)
    local base, rest = match(uri, "^([^?#]*)(.*)$")
    local query = match(rest, "^%?([^#]*)")
    local fragment = match(rest, "#(.*)$")
    return base, query, fragment
end

function _M.encode_args(args)
    return http.encode_args(args)
end

return _M
