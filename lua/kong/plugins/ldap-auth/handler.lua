-- ldap-auth (Kong 3.9): `[Proxy-]Authorization: <header_type> base64(user:pass)`
-- checked by a simple bind as `<attribute>=<user>,<base_dn>`. Answers
-- (accepted and refused) are cached for cache_ttl in kong.cache, so a cached
-- answer costs no round trip to the directory.
local kong = require("kongpy.pdk")
local ldap = require("kong.plugins.ldap-auth.ldap")
local ber = require("kong.plugins.ldap-auth.ber")
local crypto = require("kongpy.tools.crypto")
local str = require("kongpy.tools.string")

local ngx = ngx
local decode_base64 = ngx.decode_base64
local find = string.find
local sub = string.sub
local match = string.match
local lower = string.lower
local upper = string.upper
local fmt = string.format

local request = kong.request
local auth = kong.auth
local digest = crypto.digest
local to_hex = str.to_hex

local AUTHORIZATION = "authorization"
local PROXY_AUTHORIZATION = "proxy-authorization"

local ERR_UNAUTHORIZED = "Unauthorized"
local ERR_UNEXPECTED = "An unexpected error occurred"

local LdapAuthHandler = {
    PRIORITY = 1200,
    VERSION = "3.9.1",
}

-- username, password of one header value, or nothing.
local function retrieve(value, conf)
    if type(value) ~= "string" then
        return nil
    end
    local _, e = find(lower(value), "^%s*" .. lower(conf.header_type) .. "%s+")
    if not e then
        return nil
    end
    local decoded = decode_base64(sub(value, e + 1))
    if not decoded then
        return nil
    end
    return match(decoded, "^(.-):(.+)$")
end

-- Kong's key: a hash of what decides the answer, the password included.
local function cache_key(conf, username, password)
    local hash = digest("sha256", fmt("%s:%u:%s:%s:%u:%s:%s", lower(conf.ldap_host),
                                      conf.ldap_port, conf.base_dn, conf.attribute,
                                      conf.cache_ttl, username, password))
    return "ldap_auth_cache:" .. to_hex(hash)
end

-- The cache callback: the username when the bind is accepted, nil (cached
-- as a refusal) when refused; nil, err (not cached) when the directory
-- cannot be asked.
local function load_credential(conf, username, password)
    local dn = conf.attribute .. "=" .. ber.escape_dn_value(username) .. "," .. conf.base_dn
    local ok, err = ldap.bind(conf, dn, password)
    if ok then
        return username
    end
    if ok == false then
        kong.log.debug(err)
        return nil
    end
    return nil, err
end

-- true, username | false | raises the 500 when the directory is unreachable
local function check(conf, value)
    local username, password = retrieve(value, conf)
    if not username then
        return false
    end
    local ttl = conf.cache_ttl
    local found, err = kong.cache:get(cache_key(conf, username, password),
                                      { ttl = ttl, neg_ttl = ttl },
                                      load_credential, conf, username, password)
    if err then
        kong.log.err(err)
        return kong.response.error(500, ERR_UNEXPECTED)
    end
    return found ~= nil, found
end

local function unauthorized(conf)
    local scheme = conf.header_type
    if scheme == "ldap" then
        scheme = upper(scheme)   -- Kong keeps the old capitalised default
    end
    local www = conf.realm and (scheme .. ' realm="' .. conf.realm .. '"') or scheme
    return { status = 401, message = ERR_UNAUTHORIZED, headers = { ["WWW-Authenticate"] = www } }
end

local function authenticate(conf)
    local value = request.get_header(AUTHORIZATION)
    local proxy_value = request.get_header(PROXY_AUTHORIZATION)
    if not (value or proxy_value) then
        return false, unauthorized(conf)
    end
    local ok, username = check(conf, proxy_value)
    if not ok then
        ok, username = check(conf, value)
    end
    if not ok then
        return false, unauthorized(conf)
    end
    if conf.hide_credentials then
        kong.service.request.clear_header(AUTHORIZATION)
        kong.service.request.clear_header(PROXY_AUTHORIZATION)
    end
    -- no consumer: the credential is the directory's user
    auth.set_consumer(nil, { username = username }, username)
    return true
end

function LdapAuthHandler:access(conf)
    return auth.run(conf, authenticate)
end

return LdapAuthHandler
