-- Values for `auto` fields: random (version 4) UUIDs and the 32-character
-- alphanumeric strings Kong generates for auto strings (key-auth keys,
-- client ids). Both come from OpenSSL's CSPRNG: they are often secrets.
local crypto = require("kongpy.tools.crypto")

local byte = string.byte
local char = string.char
local format = string.format
local concat = table.concat
local error = error

local ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local ERR_RANDOM = "no random bytes available"

local _M = {}

local function bytes(n)
    local b = crypto.random_bytes(n)
    if not b then
        error(ERR_RANDOM)
    end
    return b
end

function _M.uuid()
    local b = { byte(bytes(16), 1, 16) }
    b[7] = b[7] % 16 + 0x40          -- version 4
    b[9] = b[9] % 64 + 0x80          -- RFC 4122 variant
    return format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                  b[13], b[14], b[15], b[16])
end

-- 32 characters from [0-9A-Za-z]; rejection sampling keeps them uniform.
function _M.random_string()
    local out, n = {}, 0
    while n < 32 do
        local b = { byte(bytes(48), 1, 48) }
        for i = 1, #b do
            if b[i] < 248 and n < 32 then
                n = n + 1
                local k = b[i] % 62 + 1
                out[n] = char(byte(ALPHABET, k))
            end
        end
    end
    return concat(out)
end

return _M
