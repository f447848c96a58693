-- Small stateless string helpers for plugins.
local byte = string.byte
local format = string.format
local gsub = string.gsub

local _M = {}

local function hex_byte(c)
    return format("%02x", byte(c))
end

-- Lower-case hex of a binary string (e.g. ngx.sha1_bin's digest).
function _M.to_hex(bin)
    return (gsub(bin, ".", hex_byte))
end

return _M
