-- Request path normalisation and upstream URI construction (no ngx dependency,
-- so the whole module can be exercised under plain LuaJIT as well).
local byte = string.byte
local char = string.char
local sub = string.sub
local find = string.find
local gsub = string.gsub
local upper = string.upper
local format = string.format
local tonumber = tonumber
local concat = table.concat

local _M = {}

local SLASH = byte("/")

-- RFC 3986 reserved characters keep their percent-encoding (hex upper-cased)
-- because decoding them would change the meaning of the path; so does "%"
-- itself, as in Kong (kong.tools.uri): "%25" decoded would start an escape.
local RESERVED = {}
for c in (":/?#[]@!$&'()*+,;=%"):gmatch(".") do
    RESERVED[byte(c)] = true
end

local function decode_one(hex)
    local n = tonumber(hex, 16)
    if RESERVED[n] then
        return "%" .. upper(hex)
    end
    return char(n)
end

-- RFC 3986 section 5.2.4, operating on a decoded path that starts with "/".
local function remove_dot_segments(path)
    if not find(path, "/.", 1, true) then
        return path
    end
    local out, n = {}, 0
    local i, len = 1, #path
    while i <= len do
        local j = find(path, "/", i + 1, true) or (len + 1)
        local seg = sub(path, i + 1, j - 1)
        if seg == "." then
            if j > len then
                n = n + 1
                out[n] = ""
            end
        elseif seg == ".." then
            if n > 0 then
                out[n] = nil
                n = n - 1
            end
            if j > len then
                n = n + 1
                out[n] = ""
            end
        else
            n = n + 1
            out[n] = seg
        end
        i = j
    end
    if n == 0 then
        return "/"
    end
    return "/" .. concat(out, "/", 1, n)
end

-- Kong's router input: percent-decoding except reserved characters, dot
-- segments removed, repeated slashes merged.
function _M.normalize(path)
    if path == "/" or path == "" then
        return "/"
    end
    if not find(path, "%", 1, true) and not find(path, "/.", 1, true)
       and not find(path, "//", 1, true)
    then
        return path
    end
    path = gsub(path, "%%(%x%x)", decode_one)
    path = gsub(path, "//+", "/")
    path = remove_dot_segments(path)
    return path
end

-- Characters allowed verbatim in the upstream request line; everything else
-- (spaces and friends that normalisation decoded) is escaped again.
local function escape_one(c)
    return format("%%%02X", byte(c))
end

function _M.escape(path)
    if not find(path, "[^%w!#%$&'%(%)%*%+,/:;=%?@%[%]%-_%.~%%]") then
        return path
    end
    return (gsub(path, "[^%w!#%$&'%(%)%*%+,/:;=%?@%[%]%-_%.~%%]", escape_one))
end

local function upstream_v0(base, strip, rest, req)
    if byte(base, -1) == SLASH then
        if strip then
            if rest == "" then
                if base == "/" or byte(req, -1) == SLASH then
                    return base
                end
                return sub(base, 1, -2)
            elseif byte(rest, 1) == SLASH then
                return sub(base, 1, -2) .. rest
            end
            return base .. rest
        end
        return base .. sub(req, 2)
    end
    if strip then
        if rest == "" then
            if #req > 1 and byte(req, -1) == SLASH then
                return base .. "/"
            end
            return base
        elseif byte(rest, 1) == SLASH then
            return base .. rest
        end
        return base .. "/" .. rest
    end
    if req == "/" then
        return base
    end
    return base .. req
end

local function upstream_v1(base, strip, rest, req)
    if strip then
        if byte(base, -1) == SLASH and byte(rest, 1) == SLASH then
            return base .. sub(rest, 2)
        end
        return base .. rest
    end
    return base .. sub(req, 2)
end

-- What strip_path leaves of `/route./x` or `/route../x` is `./x` or `../x`:
-- a dot segment once joined to the service path, which Kong drops (its
-- router's sanitize_uri_postfix) so the upstream sees `/service/x`.
local function sanitize_rest(rest)
    if rest == "." or rest == ".." then
        return ""
    end
    if sub(rest, 1, 2) == "./" then
        return sub(rest, 3)
    end
    if sub(rest, 1, 3) == "../" then
        return sub(rest, 4)
    end
    return rest
end

-- base: service path or "/"; prefix: matched part of req (stripped when
-- strip is true); req: the normalised request path.
function _M.upstream_path(handling, base, strip, prefix, req)
    local rest = strip and sanitize_rest(sub(req, #prefix + 1)) or req
    if handling == "v1" then
        return upstream_v1(base, strip, rest, req)
    end
    return upstream_v0(base, strip, rest, req)
end

return _M
