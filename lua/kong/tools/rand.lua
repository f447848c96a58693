-- kong.tools.rand: random bytes and Kong's random strings.
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local encode_base64 = ngx.encode_base64

local char = string.char
local gsub = string.gsub
local concat = table.concat
local random = math.random

local CHUNK = 64 -- crypto.random_bytes' largest draw

local _M = {}

-- get_rand_bytes(n): `n` bytes from OpenSSL's CSPRNG (the `urandom` flag
-- Kong accepts makes no difference here), or nil, err.
function _M.get_rand_bytes(n)
    local parts = {}
    while n > 0 do
        local take = n > CHUNK and CHUNK or n
        local bytes, err = crypto.random_bytes(take)
        if not bytes then
            return nil, err
        end
        parts[#parts + 1] = bytes
        n = n - take
    end
    return concat(parts)
end

-- random_string(): 32 alphanumeric characters from 24 random bytes.
function _M.random_string()
    local s = encode_base64(_M.get_rand_bytes(24))
    s = gsub(s, "/", char(random(48, 57)))
    s = gsub(s, "%+", char(random(65, 90)))
    s = gsub(s, "=", char(random(97, 122)))
    return s
end

return _M
