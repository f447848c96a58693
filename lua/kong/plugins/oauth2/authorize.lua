-- POST …/oauth2/authorize (Kong 3.9): the application's backend, holding
-- the provision_key, asks for a code (authorization code grant) or a token
-- (implicit grant) for a user it has authenticated. The reply names the
-- redirect URI to send the user to, the result in its query (code) or
-- fragment (token).
local common = require("kong.plugins.oauth2.common")

local kong = kong
local ngx = ngx
local decode_args = ngx.decode_args

local type = type
local pairs = pairs
local match = string.match
local upper = string.upper

local ERR_REDIRECT = "Invalid redirect_uri that does not match with any redirect_uri "
    .. "created with the application"
local CODE_TTL = 300

local oauth_error = common.error

local function strip(s)
    return match(s, "^%s*(.-)%s*$")
end

-- The code challenge (and method, nil for plain) the request brings, or
-- nil, nil and the error (pkce: none, lax, strict).
local function challenge(conf, params, client)
    local code_challenge = params.code_challenge
    local method = params.code_challenge_method
    if method ~= nil and code_challenge == nil then
        return nil, nil, oauth_error("invalid_request",
                                     "code_challenge is required when code_method is present")
    end
    if method ~= nil and (type(method) ~= "string" or upper(method) ~= "S256") then
        return nil, nil, oauth_error("invalid_request",
                                     "code_challenge_method is not supported, must be S256")
    end
    if code_challenge == nil then
        if client.client_type == "public" and conf.pkce ~= "none" then
            return nil, nil, oauth_error("invalid_request",
                                         "code_challenge is required for public clients")
        end
        if conf.pkce == "strict" then
            return nil, nil, oauth_error("invalid_request",
                                         "code_challenge is required for confidential clients")
        end
        return nil, nil
    end
    if type(code_challenge) ~= "string" or code_challenge == "" then
        return nil, nil, oauth_error("invalid_request", "code_challenge must be a string")
    end
    return code_challenge, method and "S256" or nil
end

local function issue(conf, params, client, scope, state, response_type)
    local userid = params.authenticated_userid
    if response_type == "token" then
        local body, err = common.token(conf, kong.router.get_service(), client, userid,
                                       scope, state, true)
        if not body then
            return common.internal_error(err)
        end
        return body, true
    end
    local code_challenge, method, err = challenge(conf, params, client)
    if err then
        return err
    end
    local service = not conf.global_credentials and kong.router.get_service() or nil
    local code, ierr = kong.db.oauth2_authorization_codes:insert({
        service = service and { id = service.id } or ngx.null,
        credential = { id = client.id },
        plugin = { id = kong.plugin.get_id() },
        authenticated_userid = userid,
        scope = scope,
        challenge = code_challenge,
        challenge_method = method,
    }, { ttl = CODE_TTL })
    if not code then
        return common.internal_error(ierr)
    end
    return { code = code.code }
end

-- Appends `params` to the query (code) or the fragment (token) of `uri`,
-- merged with what is already there.
local function redirect_to(uri, params, implicit)
    local base, query, fragment = common.split_uri(uri)
    local merged = decode_args((implicit and fragment or query) or "") or {}
    for k, v in pairs(params) do
        merged[k] = v
    end
    local encoded = common.encode_args(merged)
    if implicit then
        return base .. (query and ("?" .. query) or "") .. "#" .. encoded
    end
    return base .. "?" .. encoded .. (fragment and ("#" .. fragment) or "")
end

return function(conf)
    local params = common.parameters()
    local state = params.state
    local result, client, redirect_uri, implicit
    local https, herr = common.https(conf)
    if not https then
        result = oauth_error("access_denied", herr or "You must use HTTPS")
    elseif conf.provision_key ~= params.provision_key then
        result = oauth_error("invalid_provision_key", "Invalid provision_key")
    elseif type(params.authenticated_userid) ~= "string"
        or strip(params.authenticated_userid) == "" then
        result = oauth_error("invalid_authenticated_userid",
                             "Missing authenticated_userid parameter")
    else
        local response_type = params.response_type
        if not ((response_type == "code" and conf.enable_authorization_code)
                or (response_type == "token" and conf.enable_implicit_grant)) then
            result = oauth_error("unsupported_response_type", "Invalid response_type")
        end
        local scope, serr = common.scope(params, conf)
        if serr then
            result = serr
        end
        client = common.client(params.client_id)
        local uris = client and client.redirect_uris
        if not uris then
            result = oauth_error("invalid_client", "Invalid client authentication")
        else
            redirect_uri = params.redirect_uri or uris[1]
            if not common.contains(uris, redirect_uri) then
                result = oauth_error("invalid_request", ERR_REDIRECT)
                redirect_uri = uris[1]
            end
        end
        if not result then
            result, implicit = issue(conf, params, client, scope, state, response_type)
        end
    end
    result.state = state
    local status = result.error and 400 or 200
    if type(redirect_uri) == "string" then
        return common.reply(status, { redirect_uri = redirect_to(redirect_uri, result, implicit) })
    end
    return common.reply(status, result)
end
