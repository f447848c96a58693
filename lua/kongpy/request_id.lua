-- Kong's request id (X-Kong-Request-Id to the upstream and the client, the
-- error bodies, the log entries): 16 bytes from OpenSSL's CSPRNG in hex, as
-- nginx's $request_id makes it. nginx calls RAND_bytes once per request,
-- and with OpenSSL 3 one call costs ~6,600 instructions whatever its size
-- (the DRBG's locks and fork checks), a tenth of a proxied request's user
-- space: the ids here come from a pool of random bytes refilled 256 ids at
-- a time.
--
-- The access phase writes the request's id into $kongpy_rid_lua; the map
-- $kongpy_request_id (nginx_kongpy.conf.j2) gives it, or nginx's own
-- $request_id for a request that never reached the access phase (nginx's
-- error pages), so every reader sees one id per request.
local ffi = require("ffi")
require("kongpy.tools.crypto")  -- declares RAND_bytes

local C = ffi.C
local ffi_string = ffi.string
local ffi_copy = ffi.copy
local format = string.format

local ngx = ngx
local var = ngx.var

local IDS = 256
local POOL = IDS * 16

local _M = {}

-- byte -> its two hex digits, in the byte order of a uint16_t
local HEX2 = ffi.new("uint16_t[256]")
for b = 0, 255 do
    ffi_copy(HEX2 + b, format("%02x", b), 2)
end

local pool = ffi.new("uint8_t[?]", POOL)
-- empty until a worker first asks: the master (which forks the workers
-- after init) never fills it, so no two workers share random bytes
local pos = POOL
local out = ffi.new("uint16_t[16]")

-- A fresh id (32 lowercase hex digits), or nil when OpenSSL fails.
function _M.new()
    if pos >= POOL then
        if C.RAND_bytes(pool, POOL) ~= 1 then
            return nil
        end
        pos = 0
    end
    local p = pos
    -- sixteen rounds written out: a loop this short makes LuaJIT abort the
    -- trace of the phase handler around it
    out[0], out[1], out[2], out[3] = HEX2[pool[p]], HEX2[pool[p + 1]], HEX2[pool[p + 2]],
                                     HEX2[pool[p + 3]]
    out[4], out[5], out[6], out[7] = HEX2[pool[p + 4]], HEX2[pool[p + 5]], HEX2[pool[p + 6]],
                                     HEX2[pool[p + 7]]
    out[8], out[9], out[10], out[11] = HEX2[pool[p + 8]], HEX2[pool[p + 9]],
                                       HEX2[pool[p + 10]], HEX2[pool[p + 11]]
    out[12], out[13], out[14], out[15] = HEX2[pool[p + 12]], HEX2[pool[p + 13]],
                                         HEX2[pool[p + 14]], HEX2[pool[p + 15]]
    pos = p + 16
    return ffi_string(out, 32)
end

-- The access phase: the request's id, made and published; nil when none
-- could be made (nginx's $request_id serves then).
function _M.assign()
    local id = _M.new()
    if id then
        var.kongpy_rid_lua = id
    end
    return id
end

-- The request's id, wherever the request is.
function _M.get()
    return var.kongpy_request_id
end

return _M
