-- POST …/oauth2/token (Kong 3.9): an application exchanges a code, its own
-- credentials, a user's (password grant, through the application's backend
-- holding the provision_key) or a refresh token for an access token.
local common = require("kong.plugins.oauth2.common")
local crypto = require("kongpy.tools.crypto")

local kong = kong
local ngx = ngx
local decode_base64 = ngx.decode_base64
local encode_base64 = ngx.encode_base64

local type = type
local match = string.match
local gsub = string.gsub
local gmatch = string.gmatch

local ERR_REDIRECT = "Invalid redirect_uri that does not match with any redirect_uri "
    .. "created with the application"
local BASIC_REALM = 'Basic realm="OAuth2.0"'

local oauth_error = common.error

-- client_id, client_secret and whether they came in the Authorization header
local function client_credentials(params, conf)
    local client_id = common.string_param(params, "client_id")
    local header = kong.request.get_header(conf.auth_header_name)
    if client_id and (params.client_secret ~= nil or not header) then
        return client_id, params.client_secret, false
    end
    if header then
        local encoded = match(header, "^%s*[Bb]asic%s*(.+)$")
        local decoded = encoded and decode_base64(encoded)
        if decoded then
            local id, secret = match(decoded, "^([^:]*):?([^:]*)")
            return id, secret ~= "" and secret or nil, true
        end
        return nil, nil, true
    end
    return nil, nil, false
end

local function base64url(s)
    return (gsub(gsub(gsub(encode_base64(s), "%+", "-"), "/", "_"), "=", ""))
end

-- The PKCE check of a code that carries a challenge: nil or the error.
local function verify_challenge(params, code)
    local verifier = params.code_verifier
    if verifier == nil then
        return oauth_error("invalid_request",
                           "code_verifier is required for PKCE authorization requests")
    end
    if type(verifier) ~= "string" then
        return oauth_error("invalid_request", "code_verifier is not a string")
    end
    if #verifier < 43 or #verifier > 128 then
        return oauth_error("invalid_request",
                           "code_verifier must be between 43 and 128 characters")
    end
    local expected = code.challenge_method == "S256"
        and base64url(crypto.digest("sha256", verifier))
        or verifier
    if expected ~= code.challenge then
        return oauth_error("invalid_grant", "Invalid code")
    end
end

local function service_of(conf)
    if not conf.global_credentials then
        return kong.router.get_service()
    end
end

local function from_code(conf, params, client, state)
    local service = service_of(conf)
    local value = common.string_param(params, "code")
    local code = value and kong.db.oauth2_authorization_codes:select_by_code(value)
    if not code or (service and (code.service or {}).id ~= service.id)
        or (code.plugin and code.plugin.id ~= kong.plugin.get_id())
        or code.credential.id ~= client.id then
        return oauth_error("invalid_request", "Invalid code")
    end
    if code.challenge then
        local err = verify_challenge(params, code)
        if err then
            return err
        end
    elseif client.client_type == "public" and conf.pkce ~= "none" then
        return oauth_error("invalid_request",
                           "code_verifier is required for PKCE authorization requests")
    end
    -- gone before the token exists: a code is never spent twice
    local ok, derr = kong.db.oauth2_authorization_codes:delete({ id = code.id })
    if not ok then
        return common.internal_error(derr)
    end
    return common.token(conf, kong.router.get_service(), client, code.authenticated_userid,
                        code.scope, state)
end

local function scope_configured(conf, scope)
    for v in gmatch(scope or "", "%S+") do
        if not common.contains(conf.scopes, v) then
            return false
        end
    end
    return true
end

local function from_refresh(conf, params, client, state)
    local service = service_of(conf)
    local value = common.string_param(params, "refresh_token")
    local token = value and kong.db.oauth2_tokens:select_by_refresh_token(value)
    if not token or (service and (token.service or {}).id ~= service.id) then
        return oauth_error("invalid_request", "Invalid refresh_token")
    end
    if token.credential.id ~= client.id then
        return oauth_error("invalid_client", "Invalid client authentication")
    end
    if token.scope and not scope_configured(conf, token.scope) then
        return oauth_error("invalid_scope", "Scope mismatch")
    end
    local body, err = common.token(conf, kong.router.get_service(), client,
                                   token.authenticated_userid, token.scope, state, false, token)
    if body and not conf.reuse_refresh_token then
        local ok, derr = kong.db.oauth2_tokens:delete({ id = token.id })
        if not ok then
            return nil, derr
        end
    end
    return body, err
end

local function with_user(conf, params, client, state, password)
    local userid = params.authenticated_userid
    if (password or userid ~= nil) and conf.provision_key ~= params.provision_key then
        return oauth_error("invalid_provision_key", "Invalid provision_key")
    end
    if password and (type(userid) ~= "string" or match(userid, "^%s*$")) then
        return oauth_error("invalid_authenticated_userid",
                           "Missing authenticated_userid parameter")
    end
    local scope, serr = common.scope(params, conf)
    if serr then
        return serr
    end
    return common.token(conf, kong.router.get_service(), client, userid, scope, state,
                        not password)
end

local GRANTS = {
    authorization_code = from_code,
    refresh_token = from_refresh,
    client_credentials = function(conf, params, client, state)
        return with_user(conf, params, client, state, false)
    end,
    password = function(conf, params, client, state)
        return with_user(conf, params, client, state, true)
    end,
}

-- The client checks (application, redirect URI, secret): nil or the error,
-- and the WWW-Authenticate value of a 401.
local function check_client(params, grant, client, secret, from_header)
    local result, challenge
    local uris = client and client.redirect_uris
    if grant ~= "client_credentials" then
        if uris and uris ~= ngx.null then
            local uri = params.redirect_uri or uris[1]
            if not common.contains(uris, uri) then
                result = oauth_error("invalid_request", ERR_REDIRECT)
            end
        else
            result = oauth_error("invalid_client", "Invalid client authentication")
            challenge = from_header and BASIC_REALM or nil
        end
    end
    if client and client.client_type == "public" then
        if secret ~= nil then
            result = oauth_error("invalid_request",
                                 "client_secret is disallowed for public clients")
        end
    elseif client and not common.secret_matches(client, secret) or not client then
        result = oauth_error("invalid_client", "Invalid client authentication")
        challenge = from_header and BASIC_REALM or nil
    end
    return result, challenge
end

return function(conf)
    local params = common.parameters()
    local state = params.state
    local result, challenge
    local https, herr = common.https(conf)
    if not https then
        result = oauth_error("access_denied", herr or "You must use HTTPS")
    else
        local grant = params.grant_type
        if not (grant == "authorization_code" or grant == "refresh_token"
                or (conf.enable_client_credentials and grant == "client_credentials")
                or (conf.enable_password_grant and grant == "password")) then
            result = oauth_error("unsupported_grant_type", "Invalid grant_type")
        end
        local client_id, secret, from_header = client_credentials(params, conf)
        local client = common.client(client_id)
        local cerr
        cerr, challenge = check_client(params, grant, client, secret, from_header)
        result = cerr or result
        if not result then
            local err
            result, err = GRANTS[grant](conf, params, client, state)
            if not result then
                return common.internal_error(err)
            end
        end
    end
    result.state = state
    if result.error then
        return common.reply(challenge and 401 or 400, result, challenge)
    end
    return common.reply(200, result)
end
