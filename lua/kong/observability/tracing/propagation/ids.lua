-- Trace and span ids of the propagation formats: hex and decimal (64-bit)
-- forms to and from binary strings, and the reading of header values.
local ffi = require("ffi")

local type = type
local tonumber = tonumber
local tostring = tostring
local byte = string.byte
local char = string.char
local gsub = string.gsub
local match = string.match
local rep = string.rep
local sub = string.sub
local concat = table.concat

local _M = {}

local U64 = ffi.typeof("uint64_t")

function _M.from_hex(s)
    return (gsub(s, "%x%x", function(h) return char(tonumber(h, 16)) end))
end

-- hex id of 1 to `max` bytes (odd length padded), else nil
function _M.hex_id(s, max)
    if type(s) ~= "string" or s == "" or #s > max * 2 or match(s, "%X") then
        return nil
    end
    if #s % 2 == 1 then
        s = "0" .. s
    end
    local id = _M.from_hex(s)
    if id == rep("\0", #id) then
        return nil
    end
    return id
end

function _M.pad(id, n)
    if #id >= n then
        return sub(id, -n)
    end
    return rep("\0", n - #id) .. id
end

-- the decimal digits of an unsigned 64-bit id (the last 8 bytes)
function _M.to_dec(id)
    id = _M.pad(id, 8)
    local v = U64(0)
    for i = 1, 8 do
        v = v * 256 + byte(id, i)
    end
    return (gsub(tostring(v), "ULL$", ""))
end

function _M.from_dec(s)
    if type(s) ~= "string" or not match(s, "^%d+$") or #s > 20 then
        return nil
    end
    local v = U64(0)
    for i = 1, #s do
        v = v * 10 + (byte(s, i) - 48)
    end
    local out = {}
    for i = 8, 1, -1 do
        out[i] = char(tonumber(v % 256))
        v = v / 256
    end
    local id = concat(out)
    return id ~= rep("\0", 8) and id or nil
end

function _M.first(h)
    if type(h) == "table" then
        return h[1]
    end
    return h
end

function _M.sampled_word(flag)
    if flag == "1" or flag == "d" then
        return true
    elseif flag == "0" then
        return false
    end
end

return _M
