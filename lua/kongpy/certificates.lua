-- The proxy's TLS certificates (contracts.md §8): the snapshot's
-- `certificates` and `snis` rows become, per configuration version, an index
-- from server name to parsed certificate/key pairs, and ssl_certificate_by_lua
-- picks the pair for each handshake from it. Nothing is parsed during a
-- handshake: pairs are parsed when a configuration is built, and a rebuild
-- keeps the parsed pairs of certificates whose PEM did not change.
--
-- Selection follows Kong: the exact name, then the wildcard-prefix form
-- (`*.example.com`), then the wildcard-suffix form (`www.example.*`), then an
-- SNI named `*`; no match (or no SNI from the client) leaves nginx's own
-- certificates in place: the node's default (`ssl_cert`, or the self-signed
-- pair made at start).
--
-- A certificate whose PEM does not parse makes the configuration invalid:
-- the worker keeps serving the previous one (fail closed, as for any other
-- invalid row), so no handshake ever meets a broken pair.
local ssl = require("ngx.ssl")
local secrets = require("kongpy.secrets")

local ngx = ngx
local log = ngx.log
local ERR = ngx.ERR
local exit = ngx.exit
local NGX_ERROR = ngx.ERROR
local server_name = ssl.server_name
local clear_certs = ssl.clear_certs
local set_cert = ssl.set_cert
local set_priv_key = ssl.set_priv_key
local parse_pem_cert = ssl.parse_pem_cert
local parse_pem_priv_key = ssl.parse_pem_priv_key

local type = type
local pairs = pairs
local next = next
local tostring = tostring
local lower = string.lower
local match = string.match
local find = string.find

local ERR_CERT = "could not parse PEM certificate: "
local ERR_KEY = "could not parse PEM private key: "
local ERR_CERT_ALT = "could not parse alternate PEM certificate: "
local ERR_KEY_ALT = "could not parse alternate PEM private key: "
local ERR_NO_CERT = "no certificate "
local ERR_NAME = "snis must have a string name and a certificate"

local _M = {}

local EMPTY = {}
local ANY = "*"

local function same_pem(a, b)
    return a.cert == b.cert and a.key == b.key
        and a.cert_alt == b.cert_alt and a.key_alt == b.key_alt
end

local function parse_pair(cert, key, cert_err, key_err)
    local c, err = parse_pem_cert(cert)
    if not c then
        return nil, cert_err .. tostring(err)
    end
    local k, kerr = parse_pem_priv_key(key)
    if not k then
        return nil, key_err .. tostring(kerr)
    end
    return c, k
end

-- One certificate row as parsed objects: {row, cert, key[, cert_alt, key_alt]}.
local function parse(row)
    if type(row.cert) ~= "string" or type(row.key) ~= "string" then
        return nil, "cert and key must be PEM strings"
    end
    local cert, key = parse_pair(row.cert, row.key, ERR_CERT, ERR_KEY)
    if not cert then
        return nil, key
    end
    local pair = { row = row, cert = cert, key = key }
    if type(row.cert_alt) == "string" and type(row.key_alt) == "string" then
        local ca, ka = parse_pair(row.cert_alt, row.key_alt, ERR_CERT_ALT, ERR_KEY_ALT)
        if not ca then
            return nil, ka
        end
        pair.cert_alt, pair.key_alt = ca, ka
    end
    return pair
end

-- The index of the rows `certs` and `snis` (id -> row maps); `prev`, the index
-- of the previous version, lends the pairs of unchanged certificates.
-- Returns the index or nil, err.
function _M.build(certs, snis, prev)
    local old = prev and prev.by_id or EMPTY
    local by_id, by_name = {}, {}
    local prefix, suffix = false, false
    for id, row in pairs(certs or EMPTY) do
        -- PEMs given as vault references: the values the node resolved
        local src, ref = secrets.resolve(row)
        local pair = old[id]
        if not src then
            -- fail closed: its names get no certificate, not the default one
            pair = { row = row, unresolved = ref }
        elseif pair and pair.src and same_pem(pair.src, src) then
            pair = { row = row, src = src, cert = pair.cert, key = pair.key,
                     cert_alt = pair.cert_alt, key_alt = pair.key_alt }
        else
            local err
            pair, err = parse(src)
            if not pair then
                return nil, "certificate " .. tostring(id) .. ": " .. err
            end
            pair.row, pair.src = row, src
        end
        by_id[id] = pair
    end
    for _, row in pairs(snis or EMPTY) do
        local cert = type(row.certificate) == "table" and row.certificate.id
        if type(row.name) ~= "string" or type(cert) ~= "string" then
            return nil, ERR_NAME
        end
        local pair = by_id[cert]
        if not pair then
            return nil, "sni " .. row.name .. ": " .. ERR_NO_CERT .. cert
        end
        local name = lower(row.name)
        by_name[name] = pair
        if name ~= ANY then
            prefix = prefix or find(name, "*", 1, true) == 1
            suffix = suffix or find(name, "*", -1, true) ~= nil
        end
    end
    return { by_id = by_id, by_name = by_name, named = next(by_name) ~= nil,
             prefix = prefix, suffix = suffix }
end

-- Whether a change of these entities needs a new index.
_M.ENTITIES = { certificates = true, snis = true }

-- The pair for a server name, or nil for the node's default.
function _M.find(index, name)
    local by_name = index.by_name
    name = lower(name)
    local pair = by_name[name]
    if pair then
        return pair
    end
    if index.prefix then
        local rest = match(name, "^[^.*]+(%.[^.]+%..+)$")
        pair = rest and by_name["*" .. rest]
        if pair then
            return pair
        end
    end
    if index.suffix then
        local head = match(name, "^([^*]*[^.*]%.)[^.*]+$")
        pair = head and by_name[head .. "*"]
        if pair then
            return pair
        end
    end
    return by_name[ANY]
end

local function fail(what, err)
    log(ERR, "[ssl] could not set ", what, ": ", err)
    return exit(NGX_ERROR)
end

-- ssl_certificate_by_lua: the pair of `index` for the client's SNI, both
-- key types when the certificate has an alternate pair (the client's
-- ciphers and signature algorithms then choose).
function _M.serve(index)
    if not (index and index.named) then
        return
    end
    local name = server_name()
    if not name then
        return
    end
    local pair = _M.find(index, name)
    if not pair then
        return
    end
    if pair.unresolved then
        return fail("the certificate of " .. pair.row.id,
                    "unresolved vault reference " .. pair.unresolved)
    end
    local ok, err = clear_certs()
    if not ok then
        return fail("certificates", err)
    end
    ok, err = set_cert(pair.cert)
    if ok then
        ok, err = set_priv_key(pair.key)
    end
    if not ok then
        return fail("the certificate of " .. pair.row.id, err)
    end
    if pair.cert_alt then
        ok, err = set_cert(pair.cert_alt)
        if ok then
            ok, err = set_priv_key(pair.key_alt)
        end
        if not ok then
            return fail("the alternate certificate of " .. pair.row.id, err)
        end
    end
end

return _M
