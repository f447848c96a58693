-- AES-256-GCM through libcrypto's EVP interface (FFI) and HKDF-SHA256
-- (RFC 5869, on kongpy.tools.crypto's HMAC), for the session plugin's
-- encrypted, authenticated cookies. One cipher context per worker, reset for
-- each call: requests never share state through it because no call yields.
local ffi = require("ffi")
local crypto = require("kongpy.tools.crypto")

local C = ffi.C
local ffi_new = ffi.new
local ffi_str = ffi.string
local char = string.char
local rep = string.rep
local sub = string.sub
local concat = table.concat
local ceil = math.ceil
local hmac = crypto.hmac

local ERR_CIPHER = "cipher failed"
local ERR_TAG = "authentication failed"
local ERR_LENGTH = "invalid key, iv or tag length"
local ERR_HKDF = "hkdf: length too large"

local EVP_CTRL_GCM_SET_IVLEN = 0x9
local EVP_CTRL_GCM_GET_TAG = 0x10
local EVP_CTRL_GCM_SET_TAG = 0x11
local KEY_LEN = 32
local IV_LEN = 12
local TAG_LEN = 16
local SHA256_LEN = 32

local _M = { KEY_LEN = KEY_LEN, IV_LEN = IV_LEN, TAG_LEN = TAG_LEN }

if not pcall(ffi.typeof, "kongpy_aead_sentinel") then
    ffi.cdef[[
        typedef struct { int unused; } kongpy_aead_sentinel;
        typedef struct evp_cipher_st EVP_CIPHER;
        typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
        const EVP_CIPHER *EVP_aes_256_gcm(void);
        EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void);
        int EVP_CIPHER_CTX_reset(EVP_CIPHER_CTX *ctx);
        int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
        int EVP_CipherInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, void *impl,
                              const unsigned char *key, const unsigned char *iv, int enc);
        int EVP_CipherUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                             const unsigned char *in, int inl);
        int EVP_CipherFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl);
        void ERR_clear_error(void);
    ]]
end

local ctx
local outl = ffi_new("int[1]")
local tag_buf = ffi_new("unsigned char[?]", TAG_LEN)

local function failed(err)
    C.ERR_clear_error()
    return nil, err
end

-- Sets up the context for one operation (enc 1 or 0) up to the AAD.
local function start(key, iv, aad, enc)
    if #key ~= KEY_LEN or #iv ~= IV_LEN then
        return nil, ERR_LENGTH
    end
    ctx = ctx or C.EVP_CIPHER_CTX_new()
    if ctx == nil then
        return failed(ERR_CIPHER)
    end
    C.EVP_CIPHER_CTX_reset(ctx)
    if C.EVP_CipherInit_ex(ctx, C.EVP_aes_256_gcm(), nil, nil, nil, enc) ~= 1
        or C.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, nil) ~= 1
        or C.EVP_CipherInit_ex(ctx, nil, nil, key, iv, enc) ~= 1 then
        return failed(ERR_CIPHER)
    end
    if aad and #aad > 0 and C.EVP_CipherUpdate(ctx, nil, outl, aad, #aad) ~= 1 then
        return failed(ERR_CIPHER)
    end
    return true
end

local function update(data)
    local out = ffi_new("unsigned char[?]", #data + 16)
    if C.EVP_CipherUpdate(ctx, out, outl, data, #data) ~= 1 then
        return nil
    end
    return out, outl[0]
end

-- encrypt(key, iv, plaintext, aad) -> ciphertext, tag (16 bytes) | nil, err
function _M.encrypt(key, iv, plaintext, aad)
    local ok, err = start(key, iv, aad, 1)
    if not ok then
        return nil, err
    end
    local out, n = update(plaintext)
    if not out or C.EVP_CipherFinal_ex(ctx, out + n, outl) ~= 1
        or C.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag_buf) ~= 1 then
        return failed(ERR_CIPHER)
    end
    return ffi_str(out, n + outl[0]), ffi_str(tag_buf, TAG_LEN)
end

-- decrypt(key, iv, ciphertext, tag, aad) -> plaintext | nil, err (a changed
-- ciphertext, tag, aad or key all fail the same way)
function _M.decrypt(key, iv, ciphertext, tag, aad)
    if #tag ~= TAG_LEN then
        return nil, ERR_LENGTH
    end
    local ok, err = start(key, iv, aad, 0)
    if not ok then
        return nil, err
    end
    local out, n = update(ciphertext)
    if not out then
        return failed(ERR_CIPHER)
    end
    ffi.copy(tag_buf, tag, TAG_LEN)
    if C.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag_buf) ~= 1 then
        return failed(ERR_CIPHER)
    end
    if C.EVP_CipherFinal_ex(ctx, out + n, outl) ~= 1 then
        return failed(ERR_TAG)
    end
    return ffi_str(out, n + outl[0])
end

-- hkdf_sha256(ikm, salt, info, length) -> `length` bytes (RFC 5869)
function _M.hkdf_sha256(ikm, salt, info, length)
    if length > 255 * SHA256_LEN then
        return nil, ERR_HKDF
    end
    if not salt or salt == "" then
        salt = rep("\0", SHA256_LEN)
    end
    local prk = hmac("sha256", salt, ikm)
    local blocks, t = {}, ""
    for i = 1, ceil(length / SHA256_LEN) do
        t = hmac("sha256", prk, t .. info .. char(i))
        blocks[i] = t
    end
    return sub(concat(blocks), 1, length)
end

return _M
