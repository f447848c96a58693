-- hmac-auth (Kong 3.9): HMAC signatures in `[Proxy-]Authorization: hmac ...`.
local kong = require("kongpy.pdk")
local signature = require("kong.plugins.hmac-auth.signature")

local ngx = ngx
local now = ngx.time
local parse_http_time = ngx.parse_http_time

local abs = math.abs
local type = type

local request = kong.request
local store = kong.store
local auth = kong.auth
local clear_header = kong.service.request.clear_header
local first = signature.first

local AUTHORIZATION = "authorization"
local PROXY_AUTHORIZATION = "proxy-authorization"

local ERR_UNAUTHORIZED = "Unauthorized"
local ERR_DATE = "HMAC signature cannot be verified, a valid date or x-date header is "
                 .. "required for HMAC Authentication"
local ERR_NOT_VALID = "HMAC signature cannot be verified"
local ERR_NOT_SAME = "HMAC signature does not match"

local HmacAuthHandler = {
    PRIORITY = 1030,
    VERSION = "3.9.1",
    INDEXES = { { "hmacauth_credentials", "username" } },
}

local function unauthorized(message, www_authenticate)
    return false, { status = 401, message = message,
                    headers = { ["WWW-Authenticate"] = www_authenticate } }
end

local function within_skew(value, skew)
    value = first(value)
    local at = type(value) == "string" and parse_http_time(value)
    return at and abs(now() - at) <= skew or false
end

local function load_credential(username)
    local credential = store.index("hmacauth_credentials", "username")[username]
    if credential and not store.expired(credential) then
        return credential
    end
end

local function authenticate(conf)
    local www_authenticate = conf.realm and ('hmac realm="' .. conf.realm .. '"') or "hmac"
    local headers = request.get_headers()
    local authorization = headers[AUTHORIZATION]
    local proxy_authorization = headers[PROXY_AUTHORIZATION]
    if not (authorization or proxy_authorization) then
        return unauthorized(ERR_UNAUTHORIZED, www_authenticate)
    end
    if not (within_skew(headers["x-date"], conf.clock_skew)
            or within_skew(headers["date"], conf.clock_skew)) then
        return unauthorized(ERR_DATE, www_authenticate)
    end

    -- Proxy-Authorization first; the header the parameters came from is the
    -- one hide_credentials removes.
    local params = signature.parse(proxy_authorization)
    if params.username then
        if conf.hide_credentials then
            clear_header(PROXY_AUTHORIZATION)
        end
    else
        params = signature.parse(authorization)
        if conf.hide_credentials then
            clear_header(AUTHORIZATION)
        end
    end

    local ok, err = signature.validate_params(params, conf)
    if not ok then
        kong.log.debug(err)
        return unauthorized(ERR_NOT_VALID, www_authenticate)
    end
    local credential = load_credential(params.username)
    if not credential then
        return unauthorized(ERR_NOT_VALID, www_authenticate)
    end
    if not signature.matches(params, credential.secret, headers) then
        return unauthorized(ERR_NOT_SAME, www_authenticate)
    end
    if conf.validate_request_body and not signature.valid_body(headers) then
        return unauthorized(ERR_NOT_SAME, www_authenticate)
    end

    local consumer = kong.client.load_consumer(credential.consumer.id)
    if not consumer then
        return unauthorized(ERR_NOT_VALID, www_authenticate)
    end
    auth.set_consumer(consumer, credential, credential.username)
    return true
end

function HmacAuthHandler:access(conf)
    return auth.run(conf, authenticate)
end

return HmacAuthHandler
