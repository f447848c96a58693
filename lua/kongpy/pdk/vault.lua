-- kong.vault: kongpy has no vaults yet. References ("{vault://...}") are
-- recognised and parsed; resolving one raises, so a secret is never replaced
-- by the reference text or by nothing.
local type = type
local pairs = pairs
local error = error
local tonumber = tonumber
local byte = string.byte
local sub = string.sub
local find = string.find
local match = string.match
local gmatch = string.gmatch

local BRACE_OPEN, BRACE_CLOSE, COLON = byte("{"), byte("}"), byte(":")
local ERR_NO_VAULTS = ": vaults are not supported yet, cannot resolve "

local _M = {}

-- is_reference(value): Kong's syntax, "{vault://<name>/<resource>...}".
function _M.is_reference(value)
    return type(value) == "string"
       and byte(value, 1) == BRACE_OPEN
       and byte(value, -1) == BRACE_CLOSE
       and byte(value, 7) == COLON
       and sub(value, 2, 6) == "vault"
end

-- parse_reference("{vault://env/resource/key?k=v#2}") ->
-- {name, resource, key, config, version} or nil, err.
function _M.parse_reference(ref)
    if not _M.is_reference(ref) then
        return nil, "not a reference"
    end
    local body = sub(ref, 2, -2)
    local rest = match(body, "^vault://(.+)$")
    if not rest then
        return nil, "reference must start with vault://"
    end
    local version
    local hash = find(rest, "#", 1, true)
    if hash then
        version = tonumber(sub(rest, hash + 1))
        if not version then
            return nil, "invalid reference version"
        end
        rest = sub(rest, 1, hash - 1)
    end
    local config = {}
    local q = find(rest, "?", 1, true)
    if q then
        for k, v in gmatch(sub(rest, q + 1), "([^&=]+)=?([^&]*)") do
            config[k] = v
        end
        rest = sub(rest, 1, q - 1)
    end
    local name, resource, key = match(rest, "^([^/]+)/([^/]+)/?(.*)$")
    if not name then
        return nil, "reference must name a vault and a resource"
    end
    return { name = name, resource = resource, key = key ~= "" and key or nil,
             config = config, version = version }
end

function _M.get(reference)
    if not _M.is_reference(reference) then
        return nil, "not a reference"
    end
    error("kong.vault.get" .. ERR_NO_VAULTS .. reference, 2)
end

-- update(t): t itself when it holds no reference (at any depth).
local function check(t, seen)
    if seen[t] then
        return
    end
    seen[t] = true
    for _, v in pairs(t) do
        if _M.is_reference(v) then
            error("kong.vault.update" .. ERR_NO_VAULTS .. v, 4)
        elseif type(v) == "table" then
            check(v, seen)
        end
    end
end

function _M.update(options)
    if type(options) == "table" then
        check(options, {})
    end
    return options
end

return _M
