-- hmac-auth: the Authorization parameters, the signing string and the
-- checks on them (Kong 3.9's signature scheme, a variant of
-- draft-cavage-http-signatures).
local kong = require("kongpy.pdk")
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local re_match = ngx.re.match
local encode_base64 = ngx.encode_base64
local decode_base64 = ngx.decode_base64

local type = type
local tostring = tostring
local ipairs = ipairs
local fmt = string.format
local find = string.find
local sub = string.sub
local lower = string.lower
local concat = table.concat

local request = kong.request

local ERR_MISSING = "username or signature missing"
local ERR_ENFORCED = "enforced header not used for signature creation"
local ERR_ALGORITHM = "algorithm %s not supported"

-- Greedy captures, unanchored scheme: Kong's pattern, kept for compatibility.
local PARAMS_RE = [[\s*[Hh]mac\s*username="(.+)",\s*algorithm="(.+)",\s*headers="(.+)",]]
                  .. [[\s*signature="(.+)"]]

local DIGESTS = {
    ["hmac-sha1"] = "sha1",
    ["hmac-sha256"] = "sha256",
    ["hmac-sha384"] = "sha384",
    ["hmac-sha512"] = "sha512",
}

local _M = {}

local function first(value)
    if type(value) == "table" then
        return value[1]
    end
    return value
end
_M.first = first

-- Splits on every single space (empty names kept), as Kong does.
local function split_spaces(s)
    local out, pos = {}, 1
    while true do
        local i = find(s, " ", pos, true)
        if not i then
            out[#out + 1] = sub(s, pos)
            return out
        end
        out[#out + 1] = sub(s, pos, i - 1)
        pos = i + 1
    end
end

-- {username, algorithm, headers, signature} or an empty table.
function _M.parse(value)
    value = first(value)
    if type(value) ~= "string" then
        return {}
    end
    local m = re_match(value, PARAMS_RE, "jos")
    if not m then
        return {}
    end
    return { username = m[1], algorithm = m[2], headers = split_spaces(m[3]),
             signature = m[4] }
end

-- true, or nil and the reason (logged at debug level only).
function _M.validate_params(params, conf)
    if not params.username or not params.signature then
        return nil, ERR_MISSING
    end
    local enforced = conf.enforce_headers
    if enforced and #enforced > 0 then
        local used = {}
        for _, name in ipairs(params.headers) do
            used[name] = true
        end
        for _, name in ipairs(enforced) do
            if not used[name] then
                return nil, ERR_ENFORCED
            end
        end
    end
    for _, algorithm in ipairs(conf.algorithms) do
        if algorithm == params.algorithm and DIGESTS[algorithm] then
            return true
        end
    end
    return nil, fmt(ERR_ALGORITHM, tostring(params.algorithm))
end

-- One line per listed name: `name: value`, the request line for
-- `request-line`, `@request-target: <method> <path?query>`, `name:` otherwise.
function _M.signing_string(names, headers)
    local lines = {}
    local target = request.get_path_with_query()
    for i, name in ipairs(names) do
        local value = first(headers[name])
        if value then
            lines[i] = name .. ": " .. value
        elseif name == "@request-target" then
            lines[i] = name .. ": " .. lower(request.get_method()) .. " " .. target
        elseif name == "request-line" then
            lines[i] = fmt("%s %s HTTP/%.01f", request.get_method(), target,
                           request.get_http_version() or 1.1)
        else
            lines[i] = name .. ":"
        end
    end
    return concat(lines, "\n")
end

function _M.matches(params, secret, headers)
    local expected = crypto.hmac(DIGESTS[params.algorithm], secret,
                                 _M.signing_string(params.headers, headers))
    return crypto.equal(expected, decode_base64(params.signature))
end

-- `Digest: SHA-256=<base64>` of the raw body; no Digest is fine only for an
-- empty body.
function _M.valid_body(headers)
    local body, err = request.get_raw_body()
    if not body then
        kong.log.debug("cannot read request body: ", err)
        return false
    end
    local received = first(headers["digest"])
    if not received then
        return body == ""
    end
    return received == "SHA-256=" .. encode_base64(crypto.digest("sha256", body))
end

return _M
