-- basic-auth (Kong 3.9): `[Proxy-]Authorization: Basic base64(user:pass)`.
local kong = require("kongpy.pdk")
local passwords = require("kong.plugins.basic-auth.password")

local ngx = ngx
local decode_base64 = ngx.decode_base64
local re_match = ngx.re.match

local request = kong.request
local store = kong.store
local auth = kong.auth
local verify = passwords.verify
local hash = passwords.hash
local queue_rehash = auth.queue_rehash

local ENTITY = "basicauth_credentials"

local ERR_UNAUTHORIZED = "Unauthorized"

local BasicAuthHandler = {
    PRIORITY = 1100,
    VERSION = "3.9.1",
    INDEXES = { { ENTITY, "username" } },
}

local function unauthorized(www_authenticate)
    return { status = 401, message = ERR_UNAUTHORIZED,
             headers = { ["WWW-Authenticate"] = www_authenticate } }
end

-- username, password from one header; nothing (never an error) when malformed.
-- Kong's patterns, unanchored on purpose: `basic <b64>` may appear anywhere in
-- the value, the username is the first run of non-colons followed by a colon
-- and the password stops at a line break.
local function retrieve(header_name, conf)
    local value = request.get_header(header_name)
    local username, password
    if type(value) == "string" then
        local m = re_match(value, [[\s*[Bb]asic\s*(.+)]], "jo")
        local decoded = m and decode_base64(m[1])
        local parts = decoded and re_match(decoded, "([^:]+):(.*)", "jo")
        if parts then
            username, password = parts[1], parts[2]
        end
    end
    if conf.hide_credentials then
        kong.service.request.clear_header(header_name)
    end
    return username, password
end

-- An unknown username is refused without a PBKDF2 run, so a wrong password
-- for a known one answers measurably later; a derivation for every unknown
-- name instead would let anyone spend worker CPU without knowing a username.
local function load_credential(username)
    local credential = username and store.index(ENTITY, "username")[username]
    if credential and not store.expired(credential) then
        return credential
    end
end

-- A login against Kong's SHA-1 format also hands the control plane a PBKDF2
-- hash of the same password (docs/plugins.md, basic-auth password storage).
local function valid_password(credential, password)
    local ok, legacy = verify(credential, password)
    if legacy then
        queue_rehash(ENTITY, credential.id, credential.password, hash, password)
    end
    return ok
end

local function authenticate(conf)
    local www_authenticate = 'Basic realm="' .. conf.realm .. '"'
    if not (request.get_header("authorization") or request.get_header("proxy-authorization")) then
        return false, unauthorized(www_authenticate)
    end
    local credential
    local username, password = retrieve("proxy-authorization", conf)
    if username and password then
        credential = load_credential(username)
    end
    if not credential then
        username, password = retrieve("authorization", conf)
        if not (username and password) then
            return false, unauthorized(www_authenticate)
        end
        credential = load_credential(username)
    end
    if not credential or not valid_password(credential, password) then
        return false, unauthorized(www_authenticate)
    end
    local consumer = kong.client.load_consumer(credential.consumer.id)
    if not consumer then
        return false, unauthorized(www_authenticate)
    end
    auth.set_consumer(consumer, credential, credential.username)
    return true
end

function BasicAuthHandler:access(conf)
    return auth.run(conf, authenticate)
end

return BasicAuthHandler
