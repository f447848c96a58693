-- basic-auth password checks. Stored values are either ours,
--   $pbkdf2-sha256$i=<iterations>$<salt, base64>$<32-byte hash, base64>
-- (PBKDF2-HMAC-SHA256, standard base64 with padding; docs/contracts.md §1),
-- or Kong's legacy SHA-1 hex of password .. consumer id (rows imported from
-- Kong), accepted and reported as legacy so the caller can queue a re-hash.
--
-- A PBKDF2 run costs milliseconds of worker CPU, so each worker remembers its
-- recent successes: credential id -> { stored hash it was checked against,
-- HMAC-SHA256 of the password under a random key of this worker }. A repeated
-- correct password costs one lookup and one HMAC; a changed stored hash never
-- matches an old entry; failures are never remembered.
local crypto = require("kongpy.tools.crypto")
local tools = require("kongpy.tools.string")
local lrucache = require("resty.lrucache")

local ngx = ngx
local sha1_bin = ngx.sha1_bin
local encode_base64 = ngx.encode_base64
local decode_base64 = ngx.decode_base64

local type = type
local tonumber = tonumber
local byte = string.byte
local find = string.find
local match = string.match
local pbkdf2 = crypto.pbkdf2
local hmac = crypto.hmac
local equal = crypto.equal
local random_bytes = crypto.random_bytes
local to_hex = tools.to_hex

local PREFIX = "$pbkdf2-sha256$i="
local PATTERN = "^%$pbkdf2%-sha256%$i=(%d+)%$([%w+/]+=*)%$([%w+/]+=*)$"
local DOLLAR = byte("$")
local SHA256 = "sha256"
-- 10,000 iterations: 2.4 ms of worker CPU on the reference machine (docs/plugins.md).
local ITERATIONS = 10000
local MAX_ITERATIONS = 1000000
local SALT_BYTES = 16
local HASH_BYTES = 32
local CACHE_SIZE = 10000
local CACHE_TTL = 300

local _M = {
    ITERATIONS = ITERATIONS,
    CACHE_SIZE = CACHE_SIZE,
    CACHE_TTL = CACHE_TTL,
}

-- Created at init and copied into each worker by fork: one cache per worker.
local verified = lrucache.new(CACHE_SIZE)
-- Drawn in each worker on its first use, never shared, never stored.
local mac_key

local function mac(password)
    if not mac_key then
        mac_key = random_bytes(32)
    end
    return mac_key and hmac(SHA256, mac_key, password)
end

-- True when `password` derives the hash `stored` describes.
local function check_pbkdf2(stored, password)
    local iterations, salt, expected = match(stored, PATTERN)
    iterations = tonumber(iterations)
    if not iterations or iterations < 1 or iterations > MAX_ITERATIONS then
        return false
    end
    salt, expected = decode_base64(salt), decode_base64(expected)
    if not salt or not expected or #expected < 16 or #expected > 64 then
        return false
    end
    return equal(pbkdf2(SHA256, password, salt, iterations, #expected), expected)
end

local function is_legacy(stored)
    return #stored == 40 and not find(stored, "[^0-9a-f]")
end

-- A new stored value for `password`, with a fresh random salt.
function _M.hash(password)
    local salt = random_bytes(SALT_BYTES)
    local derived = salt and pbkdf2(SHA256, password, salt, ITERATIONS, HASH_BYTES)
    if not derived then
        return nil
    end
    return PREFIX .. ITERATIONS .. "$" .. encode_base64(salt) .. "$" .. encode_base64(derived)
end

-- Whether the control plane may replace the stored `old` with `new` (both
-- already hashes): only a legacy SHA-1 value, only for one of our PBKDF2
-- values at least as strong as those made here.
function _M.accepts_rehash(old, new)
    if type(old) ~= "string" or type(new) ~= "string" or not is_legacy(old) then
        return false
    end
    local iterations, salt, derived = match(new, PATTERN)
    iterations = tonumber(iterations)
    salt, derived = salt and decode_base64(salt), derived and decode_base64(derived)
    return iterations ~= nil and iterations >= ITERATIONS and iterations <= MAX_ITERATIONS
        and salt ~= nil and #salt >= SALT_BYTES and derived ~= nil and #derived == HASH_BYTES
end

-- verify(credential, password) -> ok, legacy: whether `password` matches the
-- credential's stored value, and whether that value is Kong's SHA-1 format.
function _M.verify(credential, password)
    local stored = credential.password
    if type(stored) ~= "string" then
        return false
    end
    if byte(stored, 1) == DOLLAR then
        local id = credential.id
        local seen = verified:get(id)
        local m
        if seen and seen[1] == stored then
            m = mac(password)
            if equal(seen[2], m) then
                return true
            end
        end
        if not check_pbkdf2(stored, password) then
            return false
        end
        m = m or mac(password)
        if m then
            verified:set(id, { stored, m }, CACHE_TTL)
        end
        return true
    end
    if is_legacy(stored) then
        local digest = to_hex(sha1_bin(password .. credential.consumer.id))
        if equal(digest, stored) then
            return true, true
        end
    end
    return false
end

return _M
