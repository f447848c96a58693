-- jwt (Kong 3.9): a signed JWT from the query string, a cookie or a
-- `Bearer` header; the key claim names the consumer's jwt_secret.
local kong = require("kongpy.pdk")
local jwt_token = require("kong.plugins.jwt.token")

local ngx = ngx
local re_match = ngx.re.match

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local sub = string.sub

local request = kong.request
local store = kong.store
local auth = kong.auth
local cache = kong.cache

local ERR_UNAUTHORIZED = "Unauthorized"
local ERR_MULTIPLE = "Multiple tokens provided"
local ERR_UNRECOGNIZABLE = "Unrecognizable token"
local ERR_BAD_TOKEN = "Bad token; "
local ERR_NO_CLAIM = "No mandatory '%s' in claims"
local ERR_INVALID_CLAIM = "Invalid '%s' in claims"
local ERR_NO_CREDENTIALS = "No credentials found for given '%s'"
local ERR_ALGORITHM = "Invalid algorithm"
local ERR_KEY = "Invalid key/secret"
local ERR_SIGNATURE = "Invalid signature"
local ERR_NO_CONSUMER = "Could not find consumer for '%s=%s'"

local BEARER_RE = [[\s*[Bb]earer\s+(.+)]]

local JwtHandler = {
    PRIORITY = 1450,
    VERSION = "3.9.1",
    INDEXES = { { "jwt_secrets", "key" } },
}

local function unauthorized(message, www_authenticate, errors)
    return false, { status = 401, message = message, errors = errors,
                    headers = { ["WWW-Authenticate"] = www_authenticate } }
end

-- nil, one token (usually a string) or a list when several distinct ones.
local function retrieve_tokens(conf)
    local set, n, last = {}, 0, nil
    local function add(token)
        if token ~= "" and not set[token] then
            set[token] = true
            n = n + 1
            last = token
        end
    end
    local args = request.get_query()
    for _, name in ipairs(conf.uri_param_names) do
        local value = args[name]
        if type(value) == "table" then
            for _, v in ipairs(value) do
                add(v)
            end
        elseif value ~= nil then
            add(value)
        end
    end
    for _, name in ipairs(conf.cookie_names) do
        local cookie = request.get_cookie(name)
        if cookie then
            add(cookie)
        end
    end
    local headers = request.get_headers()
    for _, name in ipairs(conf.header_names) do
        local value = headers[name]
        if type(value) == "table" then
            value = value[1]
        end
        local m = type(value) == "string" and re_match(value, BEARER_RE, "jos")
        if m then
            add(m[1])
        end
    end
    if n > 1 then
        local list = {}
        for token in pairs(set) do
            list[#list + 1] = token
        end
        return list
    end
    return last
end

local function verification_key(conf, credential, algorithm)
    local value
    if sub(algorithm, 1, 2) == "HS" then
        value = credential.secret
    else
        value = credential.rsa_public_key
    end
    if type(value) ~= "string" then
        return nil
    end
    -- Kong 3.9 decodes the RS*/ES* public key too: a PEM does not decode, so
    -- such credentials answer "Invalid key/secret" under secret_is_base64.
    if conf.secret_is_base64 then
        value = jwt_token.decode_base64url(value)
        if not value then
            return nil
        end
    end
    if sub(algorithm, 1, 2) == "HS" then
        return value
    end
    -- an entity cache key: the parsed key lives as long as the configuration
    local cache_key = "jwt_secrets:" .. credential.id .. ":pkey"
                      .. (conf.secret_is_base64 and ":b64" or "")
    local pkey, err = cache:get(cache_key, nil, jwt_token.public_key, value)
    return pkey, err
end

local function authenticate(conf)
    local www_base = conf.realm and ('Bearer realm="' .. conf.realm .. '"') or "Bearer"
    local www_error = www_base .. ' error="invalid_token"'
    local token = retrieve_tokens(conf)
    if token == nil then
        return unauthorized(ERR_UNAUTHORIZED, www_base)
    elseif type(token) == "table" then
        return unauthorized(ERR_MULTIPLE, www_error)
    elseif type(token) ~= "string" then
        return unauthorized(ERR_UNRECOGNIZABLE, www_error)
    end

    local jwt, err = jwt_token.parse(token)
    if not jwt then
        return unauthorized(ERR_BAD_TOKEN .. err, www_error)
    end
    local claim = conf.key_claim_name
    -- Kong's `claims[name] or header[name]`: a false claim falls through to
    -- the header too
    local key = jwt.claims[claim]
    if key == nil or key == false then
        key = jwt.header[claim]
    end
    if key == nil or key == false then
        return unauthorized(ERR_NO_CLAIM:format(claim), www_error)
    elseif key == "" then
        return unauthorized(ERR_INVALID_CLAIM:format(claim), www_error)
    end

    local credential = (type(key) == "string" or type(key) == "number")
                       and store.index("jwt_secrets", "key")[tostring(key)]
    if not credential or store.expired(credential) then
        return unauthorized(ERR_NO_CREDENTIALS:format(claim), www_error)
    end
    local algorithm = credential.algorithm or "HS256"
    if jwt.header.alg ~= algorithm then
        return unauthorized(ERR_ALGORITHM, www_error)
    end
    local verifier = verification_key(conf, credential, algorithm)
    if not verifier then
        return unauthorized(ERR_KEY, www_error)
    end
    if not jwt:verify_signature(verifier) then
        return unauthorized(ERR_SIGNATURE, www_error)
    end
    local ok, errors = jwt:verify_claims(conf.claims_to_verify)
    if ok then
        ok, errors = jwt:check_maximum_expiration(conf.maximum_expiration or 0)
    end
    if not ok then
        return unauthorized(nil, www_error, errors)
    end

    local consumer = kong.client.load_consumer(credential.consumer.id)
    if not consumer then
        return unauthorized(ERR_NO_CONSUMER:format(claim, tostring(key)), www_error)
    end
    auth.set_consumer(consumer, credential, credential.key)
    kong.ctx.shared.authenticated_jwt_token = token
    return true
end

-- Kong's jwt answers claim failures with the error map itself, so it runs
-- the AND / OR modes here rather than through auth.run.
function JwtHandler:access(conf)
    if not conf.run_on_preflight and request.get_method() == "OPTIONS" then
        return
    end
    if conf.anonymous then
        if kong.client.get_credential() then
            return
        end
        if not authenticate(conf) then
            return auth.set_anonymous(conf.anonymous)
        end
        return
    end
    local ok, err = authenticate(conf)
    if not ok then
        return kong.response.exit(err.status, err.errors or { message = err.message },
                                  err.headers)
    end
end

return JwtHandler
