-- session (Kong 3.9): access authenticates a request from its session
-- cookie (or logs it out); header_filter opens a session for a consumer an
-- authentication plugin identified on this request.
local kong = require("kongpy.pdk")
local session = require("kong.plugins.session.session")

local ngx = ngx
local type = type
local ipairs = ipairs
local pairs = pairs
local concat = table.concat

local auth = kong.auth
local request = kong.request

local SessionHandler = {
    PRIORITY = 1900,
    VERSION = "3.9.1",
}

local BODY_METHODS = { POST = true, PUT = true, PATCH = true, DELETE = true }

-- Kong's rule: a listed method, and the query argument, or (only with
-- read_body_for_logout) the body argument.
local function is_logout(conf)
    local method = request.get_method()
    local listed = false
    for _, m in ipairs(conf.logout_methods or {}) do
        if m == method then
            listed = true
            break
        end
    end
    if not listed then
        return false
    end
    if conf.logout_query_arg and request.get_query_arg(conf.logout_query_arg) then
        return true
    end
    if conf.read_body_for_logout and conf.logout_post_arg and BODY_METHODS[method] then
        local body = request.get_body()
        if type(body) == "table" and body[conf.logout_post_arg] ~= nil then
            return true
        end
    end
    return false
end

local function set_request_headers(s, conf)
    for name, value in pairs(s:headers(conf.request_headers)) do
        kong.service.request.set_header(name, value)
    end
end

local function authenticate(consumer, credential_id, groups)
    local credential
    if credential_id then
        credential = { id = credential_id, consumer_id = consumer.id }
    end
    auth.set_consumer(consumer, credential, credential_id)
    if type(groups) == "table" and #groups > 0 then
        ngx.ctx.authenticated_groups = groups
        kong.service.request.set_header(auth.AUTHENTICATED_GROUPS, concat(groups, ", "))
    else
        kong.service.request.clear_header(auth.AUTHENTICATED_GROUPS)
    end
end

function SessionHandler:access(conf)
    local s, err, exists = session.open(conf)
    kong.ctx.plugin.session = s
    if not exists then
        if err then
            kong.log.debug("session not present (", err, ")")
        end
        return
    end
    if is_logout(conf) then
        s:destroy()
        return kong.response.exit(200, nil, { ["Set-Cookie"] = s.cookies })
    end
    local consumer_id, credential_id, groups = s:get_data()
    local consumer = type(consumer_id) == "string" and kong.client.load_consumer(consumer_id)
    if not consumer then
        kong.log.debug("failed to find consumer, destroying session")
        s:destroy()
        return
    end
    local ok
    ok, err = s:refresh()
    if not ok then
        kong.log.warn("session refresh failed (", err, ")")
    end
    set_request_headers(s, conf)
    kong.ctx.shared.authenticated_session = s
    authenticate(consumer, credential_id, groups)
end

local function send(s, conf)
    for name, value in pairs(s:headers(conf.response_headers)) do
        kong.response.set_header(name, value)
    end
    for _, cookie in ipairs(s.cookies) do
        kong.response.add_header("Set-Cookie", cookie)
    end
end

function SessionHandler:header_filter(conf)
    local s = kong.ctx.plugin.session
    local credential = kong.client.get_credential()
    local consumer = kong.client.get_consumer()
    local consumer_id = consumer and consumer.id
    if not credential or not consumer_id then
        -- no session for the anonymous consumer (or a consumer-less credential)
        if s then
            send(s, conf)
        end
        return
    end
    local credential_id = credential.id or consumer_id
    if s and s.present then
        local cid, crid = s:get_data()
        if cid == consumer_id and crid == credential_id then
            return send(s, conf)
        end
    end
    s = s or session.open(conf)
    local groups = ngx.ctx.authenticated_groups
    s:set_data(consumer_id, credential_id, type(groups) == "table" and groups or nil,
               consumer.username or consumer.custom_id or consumer_id)
    local ok, err = s:save()
    if not ok then
        kong.log.err("could not save the session: ", err)
    end
    send(s, conf)
end

return SessionHandler
