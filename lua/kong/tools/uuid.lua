-- kong.tools.uuid: random (v4) UUIDs and Kong's UUID syntax check.
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local re_find = ngx.re.find

local type = type
local byte = string.byte
local format = string.format
local bit = require("bit")
local bor = bit.bor
local band = bit.band

local UUID_RX = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

local _M = {}

-- uuid(): a version 4 UUID from OpenSSL's CSPRNG.
function _M.uuid()
    local b = { byte(crypto.random_bytes(16), 1, 16) }
    b[7] = bor(band(b[7], 0x0f), 0x40)
    b[9] = bor(band(b[9], 0x3f), 0x80)
    return format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                  b[13], b[14], b[15], b[16])
end

-- is_valid_uuid(str): any version, case-insensitive, as Kong checks ids.
function _M.is_valid_uuid(str)
    if type(str) ~= "string" or #str ~= 36 then
        return false
    end
    return re_find(str, UUID_RX, "ijo") ~= nil
end

return _M
