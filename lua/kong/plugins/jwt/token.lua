-- jwt: parsing a compact JWS and checking its signature and registered
-- claims, with Kong 3.9's reasons ("invalid JSON", "invalid alg", ...).
local cjson = require("cjson.safe")
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local now = ngx.time

local type = type
local ipairs = ipairs
local find = string.find
local sub = string.sub
local upper = string.upper
local setmetatable = setmetatable

local ERR_JSON = "invalid JSON"
local ERR_TYP = "invalid typ"
local ERR_ALG = "invalid alg"
local ERR_CLAIMS = "invalid claims"
local ERR_SIGNATURE = "invalid signature"

-- family: which key verifies it; half: byte length of r (and s) in ES*.
local ALGORITHMS = {
    HS256 = { family = "HS", digest = "sha256" },
    HS384 = { family = "HS", digest = "sha384" },
    HS512 = { family = "HS", digest = "sha512" },
    RS256 = { family = "RSA", digest = "sha256" },
    RS384 = { family = "RSA", digest = "sha384" },
    RS512 = { family = "RSA", digest = "sha512" },
    PS256 = { family = "RSA", digest = "sha256", padding = "pss" },
    PS384 = { family = "RSA", digest = "sha384", padding = "pss" },
    PS512 = { family = "RSA", digest = "sha512", padding = "pss" },
    ES256 = { family = "EC", digest = "sha256", half = 32 },
    ES384 = { family = "EC", digest = "sha384", half = 48 },
    ES512 = { family = "EC", digest = "sha512", half = 66 },
    EdDSA = { family = "ED" },
}

local ED_KEYS = { ED25519 = true, ED448 = true }

local CLAIMS = {
    nbf = function(nbf)
        if nbf > now() then
            return "token not valid yet"
        end
    end,
    exp = function(exp)
        if exp <= now() then
            return "token expired"
        end
    end,
}

local _M = {}
local mt = { __index = _M }

-- At most three parts: a fourth dot stays in the signature segment (Kong's).
local function split(token)
    local parts, pos = {}, 1
    for _ = 1, 2 do
        local i = find(token, ".", pos, true)
        if not i then
            break
        end
        parts[#parts + 1] = sub(token, pos, i - 1)
        pos = i + 1
    end
    parts[#parts + 1] = sub(token, pos)
    return parts
end

local function decode_json(segment)
    local text = crypto.decode_base64url(segment)
    return text and cjson.decode(text)
end

-- parse(token) -> token object | nil, reason
function _M.parse(token)
    local parts = split(token)
    if #parts < 3 then
        return nil, ERR_JSON
    end
    local header, claims = decode_json(parts[1]), decode_json(parts[2])
    if type(header) ~= "table" or claims == nil then
        return nil, ERR_JSON
    end
    local typ = header.typ
    if typ ~= nil and (type(typ) ~= "string" or upper(typ) ~= "JWT") then
        return nil, ERR_TYP
    end
    if type(header.alg) ~= "string" or not ALGORITHMS[header.alg] then
        return nil, ERR_ALG
    end
    if type(claims) ~= "table" then
        return nil, ERR_CLAIMS
    end
    local signature = crypto.decode_base64url(parts[3])
    if not signature then
        return nil, ERR_SIGNATURE
    end
    return setmetatable({
        header = header,
        claims = claims,
        signature = signature,
        signed = parts[1] .. "." .. parts[2],
    }, mt)
end

-- The key of an asymmetric algorithm's family, parsed once per configuration
-- version by the caller's cache; nil when unusable.
function _M.public_key(pem)
    return crypto.load_public_key(pem)
end

-- verify_signature(secret | pkey) -> boolean
function _M:verify_signature(key)
    local alg = ALGORITHMS[self.header.alg]
    if alg.family == "HS" then
        return crypto.equal(crypto.hmac(alg.digest, key, self.signed), self.signature)
    end
    local kind = crypto.key_type(key)
    if alg.family == "ED" then
        return ED_KEYS[kind] == true and crypto.verify(key, nil, self.signed, self.signature)
    end
    if kind ~= alg.family then
        return false
    end
    local signature = self.signature
    if alg.half then
        signature = crypto.ecdsa_raw_to_der(signature, alg.half)
        if not signature then
            return false
        end
    end
    return (crypto.verify(key, alg.digest, self.signed, signature, alg.padding))
end

-- verify_claims({"exp", "nbf"}) -> true | false, {claim = reason}
function _M:verify_claims(names)
    local errors
    for _, name in ipairs(names or {}) do
        local value = self.claims[name]
        local reason
        if type(value) ~= "number" then
            reason = "must be a number"
        else
            reason = CLAIMS[name](value)
        end
        if reason then
            errors = errors or {}
            errors[name] = reason
        end
    end
    return errors == nil, errors
end

function _M:check_maximum_expiration(maximum)
    local exp = self.claims.exp
    if maximum > 0 and (type(exp) ~= "number" or exp - now() > maximum) then
        return false, { exp = "exceeds maximum allowed expiration" }
    end
    return true
end

_M.ALGORITHMS = ALGORITHMS
_M.decode_base64url = crypto.decode_base64url

return _M
