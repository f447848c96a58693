-- OpenSSL through the FFI: the libcrypto nginx already links (Debian 12: 3.0).
-- Digests, HMACs, PBKDF2, random bytes, public keys and signature checks for
-- plugins; nothing here implements a primitive itself. Failures return
-- nil/false plus a short error and always empty OpenSSL's per-thread error
-- queue, so a failed check never leaks into nginx's own TLS error reporting.
local ffi = require("ffi")

local ngx = ngx
local decode_base64 = ngx.decode_base64

local C = ffi.C
local ffi_new = ffi.new
local ffi_str = ffi.string
local ffi_gc = ffi.gc
local type = type
local byte = string.byte
local sub = string.sub
local rep = string.rep
local gsub = string.gsub
local find = string.find

local ERR_DIGEST = "unknown digest"
local ERR_KEY = "invalid key"
local ERR_NO_MEMORY = "out of memory"
local ERR_SIGNATURE = "invalid signature"
local ERR_PBKDF2 = "pbkdf2 failed"
local ERR_RANDOM = "no random bytes"

local _M = {}

if not pcall(ffi.typeof, "kongpy_crypto_sentinel") then
    ffi.cdef[[
        typedef struct { int unused; } kongpy_crypto_sentinel;
        typedef struct evp_md_st EVP_MD;
        typedef struct evp_md_ctx_st EVP_MD_CTX;
        typedef struct evp_pkey_st EVP_PKEY;
        typedef struct evp_pkey_ctx_st EVP_PKEY_CTX;
        typedef struct engine_st ENGINE;
        typedef struct bio_st BIO;
        typedef struct bignum_st BIGNUM;
        typedef struct ECDSA_SIG_st ECDSA_SIG;

        const EVP_MD *EVP_sha1(void);
        const EVP_MD *EVP_sha256(void);
        const EVP_MD *EVP_sha384(void);
        const EVP_MD *EVP_sha512(void);
        int EVP_Digest(const void *data, size_t count, unsigned char *md,
                       unsigned int *size, const EVP_MD *type, ENGINE *impl);
        unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                            const unsigned char *d, size_t n, unsigned char *md,
                            unsigned int *md_len);
        int CRYPTO_memcmp(const void *a, const void *b, size_t len);
        int PKCS5_PBKDF2_HMAC(const char *pass, int passlen, const unsigned char *salt,
                              int saltlen, int iter, const EVP_MD *digest, int keylen,
                              unsigned char *out);
        int RAND_bytes(unsigned char *buf, int num);

        BIO *BIO_new_mem_buf(const void *buf, int len);
        int BIO_free(BIO *a);
        EVP_PKEY *PEM_read_bio_PUBKEY(BIO *bp, EVP_PKEY **x, void *cb, void *u);
        EVP_PKEY *d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length);
        void EVP_PKEY_free(EVP_PKEY *pkey);
        int EVP_PKEY_get_base_id(const EVP_PKEY *pkey);
        int EVP_PKEY_get_bits(const EVP_PKEY *pkey);

        EVP_MD_CTX *EVP_MD_CTX_new(void);
        void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
        int EVP_DigestVerifyInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type,
                                 ENGINE *e, EVP_PKEY *pkey);
        int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen,
                             const unsigned char *tbs, size_t tbslen);
        int EVP_PKEY_CTX_set_rsa_padding(EVP_PKEY_CTX *ctx, int pad_mode);
        int EVP_PKEY_CTX_set_rsa_pss_saltlen(EVP_PKEY_CTX *ctx, int saltlen);

        ECDSA_SIG *ECDSA_SIG_new(void);
        void ECDSA_SIG_free(ECDSA_SIG *sig);
        int ECDSA_SIG_set0(ECDSA_SIG *sig, BIGNUM *r, BIGNUM *s);
        int i2d_ECDSA_SIG(const ECDSA_SIG *sig, unsigned char **pp);
        BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret);
        void BN_free(BIGNUM *a);

        void ERR_clear_error(void);
    ]]
end

local EVP_MAX_MD_SIZE = 64
local RSA_PKCS1_PSS_PADDING = 6
local RSA_PSS_SALTLEN_DIGEST = -1

-- OpenSSL NIDs of the key types a signature check accepts.
local KEY_TYPES = {
    [6] = "RSA",
    [912] = "RSA",      -- RSASSA-PSS keys
    [408] = "EC",
    [1087] = "ED25519",
    [1088] = "ED448",
}

local DIGESTS = {
    sha1 = C.EVP_sha1,
    sha256 = C.EVP_sha256,
    sha384 = C.EVP_sha384,
    sha512 = C.EVP_sha512,
}

local md_buf = ffi_new("unsigned char[?]", EVP_MAX_MD_SIZE)
local md_len = ffi_new("unsigned int[1]")

local function failed(err)
    C.ERR_clear_error()
    return nil, err
end

local function md(name)
    local get = DIGESTS[name]
    return get and get()
end

-- digest("sha256", data) -> binary digest
function _M.digest(name, data)
    local evp = md(name)
    if not evp then
        return nil, ERR_DIGEST
    end
    if C.EVP_Digest(data, #data, md_buf, md_len, evp, nil) ~= 1 then
        return failed(ERR_DIGEST)
    end
    return ffi_str(md_buf, md_len[0])
end

-- hmac("sha256", key, data) -> binary MAC
function _M.hmac(name, key, data)
    local evp = md(name)
    if not evp then
        return nil, ERR_DIGEST
    end
    if C.HMAC(evp, key, #key, data, #data, md_buf, md_len) == nil then
        return failed(ERR_DIGEST)
    end
    return ffi_str(md_buf, md_len[0])
end

-- pbkdf2("sha256", password, salt, iterations, length) -> `length` derived bytes.
-- Runs on the calling worker: at the iteration counts we use, milliseconds.
function _M.pbkdf2(name, password, salt, iterations, length)
    local evp = md(name)
    if not evp then
        return nil, ERR_DIGEST
    end
    if length > EVP_MAX_MD_SIZE or length < 1 or iterations < 1 then
        return nil, ERR_PBKDF2
    end
    if C.PKCS5_PBKDF2_HMAC(password, #password, salt, #salt, iterations, evp, length,
                           md_buf) ~= 1 then
        return failed(ERR_PBKDF2)
    end
    return ffi_str(md_buf, length)
end

-- `n` bytes from OpenSSL's CSPRNG (at most EVP_MAX_MD_SIZE at a time).
function _M.random_bytes(n)
    if n > EVP_MAX_MD_SIZE or n < 1 then
        return nil, ERR_RANDOM
    end
    if C.RAND_bytes(md_buf, n) ~= 1 then
        return failed(ERR_RANDOM)
    end
    return ffi_str(md_buf, n)
end

-- Constant-time equality of two strings (lengths are not secret).
function _M.equal(a, b)
    if type(a) ~= "string" or type(b) ~= "string" or #a ~= #b then
        return false
    end
    return C.CRYPTO_memcmp(a, b, #a) == 0
end

-- RFC 4648 §5 base64url (padding optional); nil for malformed input. As in
-- Kong, the standard alphabet's `+` and `/` are tolerated too.
function _M.decode_base64url(s)
    if type(s) ~= "string" or find(s, "[^%w%-_+/=]") then
        return nil
    end
    local rem = #s % 4
    if rem == 1 then
        return nil
    elseif rem > 0 then
        s = s .. rep("=", 4 - rem)
    end
    s = gsub(gsub(s, "-", "+"), "_", "/")
    return decode_base64(s)
end

-- A public key (PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo) as an EVP_PKEY
-- freed by the GC; nil, err when OpenSSL cannot read it.
function _M.load_public_key(text)
    if type(text) ~= "string" or text == "" then
        return nil, ERR_KEY
    end
    local pkey
    if find(text, "-----BEGIN", 1, true) then
        local bio = C.BIO_new_mem_buf(text, #text)
        if bio == nil then
            return failed(ERR_NO_MEMORY)
        end
        pkey = C.PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        C.BIO_free(bio)
    else
        local buf = ffi_new("const unsigned char *[1]")
        buf[0] = text
        pkey = C.d2i_PUBKEY(nil, buf, #text)
    end
    if pkey == nil then
        return failed(ERR_KEY)
    end
    return ffi_gc(pkey, C.EVP_PKEY_free)
end

-- "RSA", "EC", "ED25519", "ED448" or nil
function _M.key_type(pkey)
    return KEY_TYPES[C.EVP_PKEY_get_base_id(pkey)]
end

function _M.key_bits(pkey)
    return C.EVP_PKEY_get_bits(pkey)
end

-- Strips the leading zero bytes of a big-endian integer (BN_bin2bn ignores
-- them anyway; kept for clarity of the length checks).
local function ecdsa_half(s)
    local i = 1
    while i < #s and byte(s, i) == 0 do
        i = i + 1
    end
    return sub(s, i)
end

-- JOSE's raw r || s ECDSA signature -> the DER SEQUENCE OpenSSL verifies.
function _M.ecdsa_raw_to_der(raw, half)
    if type(raw) ~= "string" or #raw ~= 2 * half then
        return nil, ERR_SIGNATURE
    end
    local r_bin, s_bin = ecdsa_half(sub(raw, 1, half)), ecdsa_half(sub(raw, half + 1))
    local r = C.BN_bin2bn(r_bin, #r_bin, nil)
    local s = C.BN_bin2bn(s_bin, #s_bin, nil)
    local sig = C.ECDSA_SIG_new()
    if r == nil or s == nil or sig == nil then
        if r ~= nil then C.BN_free(r) end
        if s ~= nil then C.BN_free(s) end
        if sig ~= nil then C.ECDSA_SIG_free(sig) end
        return failed(ERR_NO_MEMORY)
    end
    C.ECDSA_SIG_set0(sig, r, s)     -- sig owns r and s from here on
    local len = C.i2d_ECDSA_SIG(sig, nil)
    local der
    if len > 0 then
        local out = ffi_new("unsigned char[?]", len)
        local pp = ffi_new("unsigned char *[1]", out)
        len = C.i2d_ECDSA_SIG(sig, pp)
        der = len > 0 and ffi_str(out, len) or nil
    end
    C.ECDSA_SIG_free(sig)
    if not der then
        return failed(ERR_SIGNATURE)
    end
    return der
end

-- verify(pkey, digest_name | nil, data, signature[, "pss"]) -> true | false, err
-- digest_name nil: a one-shot scheme (Ed25519 / Ed448).
function _M.verify(pkey, digest_name, data, signature, padding)
    local evp
    if digest_name then
        evp = md(digest_name)
        if not evp then
            return false, ERR_DIGEST
        end
    end
    local ctx = C.EVP_MD_CTX_new()
    if ctx == nil then
        C.ERR_clear_error()
        return false, ERR_NO_MEMORY
    end
    local pctx = ffi_new("EVP_PKEY_CTX *[1]")
    local ok = C.EVP_DigestVerifyInit(ctx, pctx, evp, nil, pkey) == 1
    if ok and padding == "pss" then
        ok = C.EVP_PKEY_CTX_set_rsa_padding(pctx[0], RSA_PKCS1_PSS_PADDING) > 0
             and C.EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx[0], RSA_PSS_SALTLEN_DIGEST) > 0
    end
    if ok then
        ok = C.EVP_DigestVerify(ctx, signature, #signature, data, #data) == 1
    end
    C.EVP_MD_CTX_free(ctx)
    if not ok then
        C.ERR_clear_error()
        return false, ERR_SIGNATURE
    end
    return true
end

return _M
