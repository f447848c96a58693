-- The few LDAPv3 messages ldap-auth exchanges (RFC 4511), in BER (X.690)
-- definite-length form: BindRequest (simple), UnbindRequest, the StartTLS
-- ExtendedRequest, and the decoding of the LDAPResult of BindResponse and
-- ExtendedResponse. Pure Lua (no ngx), so it has unit tests under LuaJIT.
local char = string.char
local byte = string.byte
local sub = string.sub
local concat = table.concat
local floor = math.floor

local ERR_SHORT = "truncated BER element"
local ERR_LENGTH = "unsupported BER length"
local ERR_TAG = "unexpected BER tag"
local ERR_NOT_RESULT = "not an LDAP result"

local TAG_INTEGER = 0x02
local TAG_OCTETS = 0x04
local TAG_ENUMERATED = 0x0A
local TAG_SEQUENCE = 0x30
local TAG_BIND_REQUEST = 0x60        -- [APPLICATION 0], constructed
local TAG_UNBIND_REQUEST = 0x42      -- [APPLICATION 2], primitive (NULL)
local TAG_EXTENDED_REQUEST = 0x77    -- [APPLICATION 23], constructed
local TAG_SIMPLE_AUTH = 0x80         -- [CONTEXT 0], primitive
local TAG_REQUEST_NAME = 0x80        -- [CONTEXT 0] of ExtendedRequest

local _M = {
    BIND_RESPONSE = 0x61,            -- [APPLICATION 1]
    EXTENDED_RESPONSE = 0x78,        -- [APPLICATION 24]
    START_TLS_OID = "1.3.6.1.4.1.1466.20037",
    LDAP_VERSION = 3,
    -- a message longer than this is not an answer to a bind
    MAX_MESSAGE = 65536,
}

-- X.690 8.1.3: short form below 128, else 0x80 | count, big-endian bytes.
function _M.encode_length(n)
    if n < 0x80 then
        return char(n)
    end
    local bytes = {}
    while n > 0 do
        bytes[#bytes + 1] = n % 256
        n = floor(n / 256)
    end
    local out = { char(0x80 + #bytes) }
    for i = #bytes, 1, -1 do
        out[#out + 1] = char(bytes[i])
    end
    return concat(out)
end

local function tlv(tag, content)
    return char(tag) .. _M.encode_length(#content) .. content
end

-- Minimal two's complement (X.690 8.3), for message ids and the version.
function _M.encode_integer(n, tag)
    local bytes = {}
    repeat
        bytes[#bytes + 1] = n % 256
        n = floor(n / 256)
    until (n == 0 and bytes[#bytes] < 0x80) or (n == -1 and bytes[#bytes] >= 0x80)
    local out = {}
    for i = #bytes, 1, -1 do
        out[#out + 1] = char(bytes[i])
    end
    return tlv(tag or TAG_INTEGER, concat(out))
end

local function message(id, op)
    return tlv(TAG_SEQUENCE, _M.encode_integer(id) .. op)
end

-- LDAPMessage { id, BindRequest { version 3, name, simple password } }
function _M.bind_request(id, dn, password)
    local op = tlv(TAG_BIND_REQUEST, _M.encode_integer(_M.LDAP_VERSION)
                   .. tlv(TAG_OCTETS, dn) .. tlv(TAG_SIMPLE_AUTH, password))
    return message(id, op)
end

function _M.unbind_request(id)
    return message(id, char(TAG_UNBIND_REQUEST, 0))
end

function _M.start_tls_request(id)
    return message(id, tlv(TAG_EXTENDED_REQUEST, tlv(TAG_REQUEST_NAME, _M.START_TLS_OID)))
end

-- How many more bytes to read after the first two bytes of a message (tag
-- and first length byte): the bytes of a long-form length, or nil, err.
function _M.extra_length_bytes(first)
    if first < 0x80 then
        return 0
    end
    local count = first - 0x80
    if count == 0 or count > 4 then
        return nil, ERR_LENGTH
    end
    return count
end

-- The content length given the first length byte and the long-form bytes.
function _M.content_length(first, rest)
    if first < 0x80 then
        return first
    end
    local n = 0
    for i = 1, #rest do
        n = n * 256 + byte(rest, i)
    end
    return n
end

-- One element at `pos` of `s`: tag, content start, content end (inclusive),
-- next position; or nil, err.
function _M.read(s, pos)
    local tag, first = byte(s, pos, pos + 1)
    if not first then
        return nil, ERR_SHORT
    end
    local start = pos + 2
    local extra, err = _M.extra_length_bytes(first)
    if not extra then
        return nil, err
    end
    if start + extra - 1 > #s then
        return nil, ERR_SHORT
    end
    local len = _M.content_length(first, sub(s, start, start + extra - 1))
    start = start + extra
    local stop = start + len - 1
    if stop > #s then
        return nil, ERR_SHORT
    end
    return tag, start, stop, stop + 1
end

-- The element at `pos` when its tag is `want`: content start, end, next.
local function read_tagged(s, pos, want)
    local tag, start, stop, nxt = _M.read(s, pos)
    if not tag then
        return nil, start
    end
    if tag ~= want then
        return nil, ERR_TAG
    end
    return start, stop, nxt
end

local function read_integer(s, pos, want)
    local start, stop, nxt = read_tagged(s, pos, want)
    if not start then
        return nil, stop
    end
    if stop < start or stop - start > 3 then
        return nil, ERR_TAG
    end
    local n = byte(s, start)
    if n >= 0x80 then
        n = n - 256
    end
    for i = start + 1, stop do
        n = n * 256 + byte(s, i)
    end
    return n, nxt
end

local function read_string(s, pos)
    local start, stop, nxt = read_tagged(s, pos, TAG_OCTETS)
    if not start then
        return nil, stop
    end
    return sub(s, start, stop), nxt
end

-- Decodes a whole LDAPMessage whose op is an LDAPResult (BindResponse,
-- ExtendedResponse): {id, op, code, matched_dn, diagnostic} or nil, err.
function _M.decode_result(s)
    local start, stop = read_tagged(s, 1, TAG_SEQUENCE)
    if not start then
        return nil, stop
    end
    local inner = sub(s, start, stop)
    local id, pos = read_integer(inner, 1, TAG_INTEGER)
    if not id then
        return nil, pos
    end
    local op, ostart, ostop = _M.read(inner, pos)
    if not op then
        return nil, ostart
    end
    if op ~= _M.BIND_RESPONSE and op ~= _M.EXTENDED_RESPONSE then
        return nil, ERR_NOT_RESULT
    end
    local body = sub(inner, ostart, ostop)
    local code, p = read_integer(body, 1, TAG_ENUMERATED)
    if not code then
        return nil, p
    end
    local matched, diagnostic
    matched, p = read_string(body, p)
    if not matched then
        return nil, p
    end
    diagnostic, p = read_string(body, p)
    if not diagnostic then
        return nil, p
    end
    return { id = id, op = op, code = code, matched_dn = matched, diagnostic = diagnostic }
end

-- RFC 4514 2.4: a value placed in a DN, its special characters escaped, so
-- a username cannot add RDNs of its own to the DN it binds as.
local SPECIAL = { [","] = true, ["+"] = true, ['"'] = true, ["\\"] = true,
                  ["<"] = true, [">"] = true, [";"] = true, ["="] = true }

function _M.escape_dn_value(v)
    local out = {}
    local n = #v
    for i = 1, n do
        local c = sub(v, i, i)
        if SPECIAL[c] or (i == 1 and (c == "#" or c == " ")) or (i == n and c == " ") then
            out[i] = "\\" .. c
        elseif c == "\0" then
            out[i] = "\\00"
        else
            out[i] = c
        end
    end
    return concat(out)
end

return _M
