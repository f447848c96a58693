-- The session cookie's format, lua-resty-session 4's: an 82-byte header
--   type 1 | flags 2 | sid 32 | created_at 5 | rolling_offset 4 | size 3 |
--   GCM tag 16 | idling_offset 3 | HMAC 16            (integers little-endian)
-- in base64url (110 characters), followed for cookie storage by the payload,
-- AES-256-GCM ciphertext in base64url. Keys per session id, by HKDF-SHA256
-- from SHA-256(secret): info "encryption:<sid>" gives the key and the IV (44
-- bytes), "authentication:<sid>" the HMAC-SHA256 key of the header (its
-- first 66 bytes; the MAC truncated to 16). The GCM additional data is the
-- header up to the size, so the tag binds the payload to its header;
-- idling_offset is only under the HMAC, so a touch re-signs the header
-- without re-encrypting the payload.
local aead = require("kongpy.tools.aead")
local crypto = require("kongpy.tools.crypto")

local ngx = ngx
local encode_base64 = ngx.encode_base64
local byte = string.byte
local char = string.char
local sub = string.sub
local gsub = string.gsub
local floor = math.floor
local concat = table.concat
local digest = crypto.digest
local hmac = crypto.hmac
local equal = crypto.equal
local decode_base64url = crypto.decode_base64url

local ERR_HEADER = "invalid session header"
local ERR_MAC = "invalid session header signature"
local ERR_TYPE = "invalid session type"
local ERR_PAYLOAD = "invalid session payload"

local COOKIE_TYPE = 1
local SID_LEN = 32
local HEADER_LEN = 82
local AAD_LEN = 1 + 2 + SID_LEN + 5 + 4 + 3        -- 47
local MAC_INPUT_LEN = AAD_LEN + 16 + 3              -- 66
local MAC_LEN = 16

local _M = {
    FLAG_STORAGE = 0x0001,     -- the payload is kept server-side
    FLAG_REMEMBER = 0x0002,    -- a persistent (remember me) session
    SID_LEN = SID_LEN,
    HEADER_B64_LEN = 110,
}

function _M.b64url(s)
    return (gsub(encode_base64(s, true), "[+/]", { ["+"] = "-", ["/"] = "_" }))
end

local function le(n, size)
    local out = {}
    for i = 1, size do
        out[i] = char(n % 256)
        n = floor(n / 256)
    end
    return concat(out)
end

local function unle(s, from, size)
    local n = 0
    for i = from + size - 1, from, -1 do
        n = n * 256 + byte(s, i)
    end
    return n
end

-- SHA-256 of each configured secret (a few; emptied if it ever grows), and
-- the keys of the last session id seen (one per request at most).
local ikm_of, ikm_count = {}, 0
local last = {}

local function ikm(secret)
    local v = ikm_of[secret]
    if not v then
        if ikm_count >= 100 then
            ikm_of, ikm_count = {}, 0
        end
        v = digest("sha256", secret)
        ikm_of[secret], ikm_count = v, ikm_count + 1
    end
    return v
end

local function keys(secret, sid)
    if last.secret == secret and last.sid == sid then
        return last.key, last.iv, last.mac_key
    end
    local material = ikm(secret)
    local okm = aead.hkdf_sha256(material, "", "encryption:" .. sid, 44)
    local mac_key = aead.hkdf_sha256(material, "", "authentication:" .. sid, 32)
    last = { secret = secret, sid = sid, key = sub(okm, 1, 32), iv = sub(okm, 33, 44),
             mac_key = mac_key }
    return last.key, last.iv, mac_key
end

local function sign(mac_key, head)
    return head .. sub(hmac("sha256", mac_key, head), 1, MAC_LEN)
end

-- seal(secret, m, plaintext) -> header (base64url), payload (base64url)
-- m: {flags, sid, created_at, rolling_offset, idling_offset}
function _M.seal(secret, m, plaintext)
    local key, iv, mac_key = keys(secret, m.sid)
    local aad = char(COOKIE_TYPE) .. le(m.flags, 2) .. m.sid .. le(m.created_at, 5)
                .. le(m.rolling_offset, 4) .. le(#plaintext, 3)
    local ciphertext, tag = aead.encrypt(key, iv, plaintext, aad)
    if not ciphertext then
        return nil, tag
    end
    local header = sign(mac_key, aad .. tag .. le(m.idling_offset, 3))
    return _M.b64url(header), _M.b64url(ciphertext)
end

-- The same header with another idling offset (a touch).
function _M.touch(secret, m, idling_offset)
    local _, _, mac_key = keys(secret, m.sid)
    local head = sub(m.raw, 1, AAD_LEN + 16) .. le(idling_offset, 3)
    return _M.b64url(sign(mac_key, head))
end

-- open_header(secret, header_b64) -> m | nil, err (the HMAC checked)
function _M.open_header(secret, header_b64)
    local raw = header_b64 and #header_b64 == _M.HEADER_B64_LEN and decode_base64url(header_b64)
    if not raw or #raw ~= HEADER_LEN then
        return nil, ERR_HEADER
    end
    if byte(raw, 1) ~= COOKIE_TYPE then
        return nil, ERR_TYPE
    end
    local sid = sub(raw, 4, 3 + SID_LEN)
    local _, _, mac_key = keys(secret, sid)
    if not equal(sign(mac_key, sub(raw, 1, MAC_INPUT_LEN)), raw) then
        return nil, ERR_MAC
    end
    return {
        raw = raw,
        flags = unle(raw, 2, 2),
        sid = sid,
        created_at = unle(raw, 36, 5),
        rolling_offset = unle(raw, 41, 4),
        size = unle(raw, 45, 3),
        tag = sub(raw, AAD_LEN + 1, AAD_LEN + 16),
        idling_offset = unle(raw, AAD_LEN + 17, 3),
    }
end

-- open_payload(secret, m, payload_b64) -> plaintext | nil, err
function _M.open_payload(secret, m, payload_b64)
    local ciphertext = payload_b64 and decode_base64url(payload_b64)
    if not ciphertext or #ciphertext ~= m.size then
        return nil, ERR_PAYLOAD
    end
    local key, iv = keys(secret, m.sid)
    local plaintext = aead.decrypt(key, iv, ciphertext, m.tag, sub(m.raw, 1, AAD_LEN))
    if not plaintext then
        return nil, ERR_PAYLOAD
    end
    return plaintext
end

-- The length in base64url (no padding) of `size` bytes.
function _M.b64_len(size)
    return floor(size / 3) * 4 + ({ [0] = 0, 2, 3 })[size % 3]
end

return _M
