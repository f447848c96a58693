-- kong.tools.string: the string helpers Kong 3.9 plugins require by this
-- module path (penlight's split and join, without penlight).
local ngx = ngx
local decode_base64 = ngx.decode_base64

local type = type
local ipairs = ipairs
local error = error
local tostring = tostring
local find = string.find
local sub = string.sub
local gsub = string.gsub
local lower = string.lower
local match = string.match
local format = string.format
local concat = table.concat

local _M = {}

-- join(sep, list)
function _M.join(sep, list)
    return concat(list, sep)
end

-- split(s, sep, n): on a plain separator (default: runs of whitespace, empty
-- fields dropped), at most `n` fields.
function _M.split(s, sep, n)
    local out = {}
    if s == "" then
        return out
    end
    if sep == nil or sep == "" then
        for word in s:gmatch("%S+") do
            if n and #out == n - 1 then
                local rest = match(s, "^%s*(.-)%s*$", find(s, word, 1, true))
                out[#out + 1] = rest
                return out
            end
            out[#out + 1] = word
        end
        return out
    end
    local start = 1
    while true do
        if n and #out == n - 1 then
            out[#out + 1] = sub(s, start)
            return out
        end
        local i, j = find(s, sep, start, true)
        if not i then
            out[#out + 1] = sub(s, start)
            return out
        end
        out[#out + 1] = sub(s, start, i - 1)
        start = j + 1
    end
end

-- strip(s): without surrounding whitespace ("" for nil).
function _M.strip(s)
    if s == nil then
        return ""
    end
    return (match(tostring(s), "^%s*(.-)%s*$"))
end

-- validate_utf8(s): true, or false and the position of the first bad byte.
function _M.validate_utf8(val)
    local s = tostring(val)
    local i, len = 1, #s
    while i <= len do
        if i == find(s, "[%z\1-\127]", i) then
            i = i + 1
        elseif i == find(s, "[\194-\223][\128-\191]", i) then
            i = i + 2
        elseif i == find(s, "\224[\160-\191][\128-\191]", i)
            or i == find(s, "[\225-\236][\128-\191][\128-\191]", i)
            or i == find(s, "\237[\128-\159][\128-\191]", i)
            or i == find(s, "[\238-\239][\128-\191][\128-\191]", i) then
            i = i + 3
        elseif i == find(s, "\240[\144-\191][\128-\191][\128-\191]", i)
            or i == find(s, "[\241-\243][\128-\191][\128-\191][\128-\191]", i)
            or i == find(s, "\244[\128-\143][\128-\191][\128-\191]", i) then
            i = i + 4
        else
            return false, i
        end
    end
    return true
end

-- bytes_to_str(bytes, unit, scale): "5.24 MiB" style (unit b, k, m or g).
function _M.bytes_to_str(bytes, unit, scale)
    local u = lower(unit or "")
    if u == "" or u == "b" then
        return format("%d", bytes)
    end
    scale = scale or 2
    if type(scale) ~= "number" or scale < 0 then
        error("scale must be equal or greater than 0", 2)
    end
    local spec = "%." .. scale .. "f"
    if u == "k" then
        return format(spec .. " KiB", bytes / 2 ^ 10)
    elseif u == "m" then
        return format(spec .. " MiB", bytes / 2 ^ 20)
    elseif u == "g" then
        return format(spec .. " GiB", bytes / 2 ^ 30)
    end
    error("invalid unit '" .. unit .. "' (expected 'k/K', 'm/M', or 'g/G')", 2)
end

local function decode_url64(s)
    s = gsub(gsub(s, "-", "+"), "_", "/")
    local pad = #s % 4
    if pad > 0 then
        s = s .. ("="):rep(4 - pad)
    end
    return decode_base64(s)
end

local function decode_one(s)
    if type(s) ~= "string" then
        return nil
    end
    return decode_base64(s) or decode_url64(s)
end

-- try_decode_base64(value): decoded (each element of an array), or unchanged.
function _M.try_decode_base64(value)
    if type(value) == "table" then
        for i, v in ipairs(value) do
            value[i] = decode_one(v) or v
        end
        return value
    end
    return decode_one(value) or value
end

function _M.replace_dashes(s)
    return (gsub(s, "-", "_"))
end

function _M.replace_dashes_lower(s)
    return (gsub(lower(s), "-", "_"))
end

return _M
