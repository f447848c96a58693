-- oauth2 client secrets stored hashed (`hash_secret = true`), in Kong 3.9's
-- PHC form so rows move between Kong and kongpy unchanged:
--   $pbkdf2-sha512$i=10000,l=32$<salt>$<hash>
-- (PBKDF2-HMAC-SHA512, salt of 16 random bytes, base64 without padding).
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local encode_base64 = ngx.encode_base64
local decode_base64 = ngx.decode_base64

local type = type
local tonumber = tonumber
local format = string.format
local match = string.match
local rep = string.rep

local ITERATIONS = 10000
local MAX_ITERATIONS = 1000000
local HASH_LEN = 32
local SALT_LEN = 16
local PATTERN = "^%$pbkdf2%-(sha%d+)%$i=(%d+),l=(%d+)%$([%w+/]+=*)%$([%w+/]+=*)$"

local _M = {}

local function unpadded(s)
    return encode_base64(s, true)
end

local function padded(s)
    local extra = #s % 4
    return decode_base64(extra == 0 and s or (s .. rep("=", 4 - extra)))
end

local function derive(secret, digest, iterations, length, salt)
    local hash, err = crypto.pbkdf2(digest, secret, salt, iterations, length)
    if not hash then
        return nil, err
    end
    return format("$pbkdf2-%s$i=%d,l=%d$%s$%s", digest, iterations, length,
                  unpadded(salt), unpadded(hash))
end

function _M.hash(secret)
    if type(secret) ~= "string" then
        return nil, "secret needs to be a string"
    end
    local salt, err = crypto.random_bytes(SALT_LEN)
    if not salt then
        return nil, err
    end
    return derive(secret, "sha512", ITERATIONS, HASH_LEN, salt)
end

-- Whether `secret` matches the stored `hash` (constant-time comparison).
function _M.verify(secret, hash)
    if type(secret) ~= "string" or type(hash) ~= "string" then
        return false
    end
    local digest, i, l, salt = match(hash, PATTERN)
    i, l = tonumber(i), tonumber(l)
    salt = salt and padded(salt)
    if not salt or i < 1 or i > MAX_ITERATIONS or l < 1 or l > 64 then
        return false
    end
    local computed = derive(secret, digest, i, l, salt)
    return computed ~= nil and crypto.equal(computed, hash)
end

return _M
