-- Custom validators of Kong's typedefs: host names with or without ports,
-- IP addresses and CIDR ranges, SNIs, paths, URLs, header and cookie names,
-- names, tags and UTF-8. Each returns true or nil plus Kong's message; hosts
-- are parsed by kongpy.schema.hostname.
local cidr = require("kongpy.tools.cidr")
local hostname = require("kongpy.schema.hostname")

local type = type
local tonumber = tonumber
local tostring = tostring
local byte = string.byte
local find = string.find
local gsub = string.gsub
local match = string.match
local sub = string.sub

local _M = {}

local normalize_ip = hostname.normalize_ip

function _M.host(host)
    local res, err = normalize_ip(host)
    if err and err ~= "invalid port number" then
        return nil, "invalid value: " .. host
    end
    if err == "invalid port number" or type(res.port) == "number" then
        return nil, "must not have a port"
    end
    return true
end

function _M.host_with_optional_port(host)
    local res, err = normalize_ip(host)
    return (res and true or nil), err
end

-- An SNI or a wildcard host: a name, never an IP, never with a port.
local function name_only(host, original)
    local res, err = normalize_ip(host)
    if err and err ~= "invalid port number" then
        return nil, "invalid value: " .. original
    end
    if res and res.type ~= "name" then
        return nil, "must not be an IP"
    end
    if err == "invalid port number" or type(res.port) == "number" then
        return nil, "must not have a port"
    end
    return true
end

function _M.sni(host)
    return name_only(host, host)
end

function _M.wildcard_host(host)
    local idx = find(host, "*", 1, true)
    if idx then
        if idx ~= 1 and idx ~= #host then
            return nil, "wildcard must be leftmost or rightmost character"
        end
        local mock, count = gsub(host, "%*", "wildcard")
        if count > 1 then
            return nil, "only one wildcard must be specified"
        end
        return name_only(mock, mock)
    end
    return name_only(host, host)
end

function _M.is_ip(ip)
    return cidr.parse(ip) ~= nil
end

function _M.ip(ip)
    if cidr.parse(ip) then
        return true
    end
    return nil, "not an ip address: " .. ip
end

-- "addr" or "addr/bits" with bits within the family's width.
local function ip_or_cidr(value, only_v4)
    local slash = find(value, "/", 1, true)
    local family = cidr.parse(slash and sub(value, 1, slash - 1) or value)
    if not family or (only_v4 and family ~= 4) then
        return false
    end
    if slash then
        local bits = match(sub(value, slash + 1), "^%d%d?%d?$")
        return bits ~= nil and tonumber(bits) <= (family == 4 and 32 or 128)
    end
    return true
end

function _M.ip_or_cidr(value)
    if ip_or_cidr(value) then
        return true
    end
    return nil, "invalid ip or cidr range: '" .. value .. "'"
end

function _M.cidr_v4(value)
    if ip_or_cidr(value, true) then
        return true
    end
    return nil, "invalid ipv4 cidr range: '" .. value .. "'"
end

function _M.path(path)
    if not match(path, "^/[%w%.%-%_%~%/%%%:%@%!%$%&%'%(%)%*%+%,%;%=]*$") then
        return nil, "invalid path: '" .. path
            .. "' (characters outside of the reserved list of RFC 3986 found)", "rfc3986"
    end
    local raw = gsub(path, "%%%x%x", "___")
    local pct = find(raw, "%", 1, true)
    if pct then
        return nil, "invalid url-encoded value: '" .. sub(raw, pct, pct + 2) .. "'", "percent"
    end
    return true
end

-- LuaSocket's url.parse, as far as Kong's check looks: scheme and host.
function _M.url(url)
    if url == "" then
        return nil, "could not parse url. invalid url"
    end
    local rest = gsub(url, "#.*$", "")
    local scheme
    rest = gsub(rest, "^([%w][%w%+%-%.]*)%:", function(s)
        scheme = s
        return ""
    end)
    local authority = match(rest, "^//([^/]*)")
    local host
    if authority then
        authority = gsub(authority, "^[^@]*@", "")
        authority = gsub(authority, ":([^:%]]*)$", "")
        if authority ~= "" then
            host = match(authority, "^%[(.+)%]$") or authority
        end
    end
    if not host then
        return nil, "missing host in url"
    end
    if not scheme then
        return nil, "missing scheme in url"
    end
    return true
end

local function token(kind)
    return function(name)
        if name == nil or name == "" then
            return nil, "no " .. kind .. " name provided"
        end
        if match(name, "^[%w%-_]+$") then
            return name
        end
        return nil, "bad " .. kind .. " name '" .. tostring(name)
            .. "', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    end
end
_M.header_name = token("header")
_M.cookie_name = token("cookie")

function _M.name(name)
    if not match(name, "^[%w%.%-%_~]+$") then
        return nil, "invalid value '" .. name
            .. "': it must only contain alphanumeric and '., -, _, ~' characters"
    end
    return true
end

-- true, or false and the 1-based position of the first bad byte.
function _M.is_utf8(str)
    local i, n = 1, #str
    while i <= n do
        local c = byte(str, i)
        local len, min
        if c < 0x80 then
            len = 1
        elseif c >= 0xC2 and c <= 0xDF then
            len, min = 2, 0x80
        elseif c >= 0xE0 and c <= 0xEF then
            len, min = 3, 0x800
        elseif c >= 0xF0 and c <= 0xF4 then
            len, min = 4, 0x10000
        else
            return false, i
        end
        if len > 1 then
            if i + len - 1 > n then
                return false, i
            end
            local cp = c % (2 ^ (7 - len))
            for j = i + 1, i + len - 1 do
                local cc = byte(str, j)
                if cc < 0x80 or cc > 0xBF then
                    return false, i
                end
                cp = cp * 64 + cc % 64
            end
            if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
                return false, i
            end
        end
        i = i + len
    end
    return true
end

local function utf8(str)
    local ok, index = _M.is_utf8(str)
    if not ok then
        return nil, "invalid utf-8 character sequence detected at position " .. tostring(index)
    end
    return true
end

function _M.utf8_name(name)
    local ok, err = utf8(name)
    if not ok then
        return nil, err
    end
    if not match(name, "^[%w%.%-%_~\128-\244]+$") then
        return nil, "invalid value '" .. name
            .. "': the only accepted ascii characters are alphanumerics or ., -, _, and ~"
    end
    return true
end

function _M.tag(tag)
    local ok, err = utf8(tag)
    if not ok then
        return nil, err
    end
    if not match(tag, "^[ \033-\043\045\046\048-\126\128-\244]+$") then
        return nil, "invalid tag '" .. tag
            .. "': expected printable ascii (except `,` and `/`) or valid utf-8 sequences"
    end
    return true
end

return _M
