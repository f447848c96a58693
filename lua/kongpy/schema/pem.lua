-- Certificates and keys for the certificate, key, pem and jwk typedefs:
-- parsed by the OpenSSL nginx links (through kongpy.tools.crypto's FFI
-- declarations) and freed at once; only "does it load" is asked. JWKs are
-- checked for the members their key type needs, not loaded.
local ffi = require("ffi")
require("kongpy.tools.crypto")   -- declares BIO, EVP_PKEY and PEM_read_bio_PUBKEY

local C = ffi.C
local ffi_new = ffi.new

local type = type
local pcall = pcall
local find = string.find

local _M = {}

if not pcall(ffi.typeof, "kongpy_pem_sentinel") then
    ffi.cdef[[
        typedef struct { int unused; } kongpy_pem_sentinel;
        typedef struct x509_st X509;
        X509 *PEM_read_bio_X509(BIO *bp, X509 **x, void *cb, void *u);
        X509 *d2i_X509(X509 **px, const unsigned char **in, long len);
        void X509_free(X509 *a);
        EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, void *cb, void *u);
        EVP_PKEY *d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long length);
        int EVP_PKEY_eq(const EVP_PKEY *a, const EVP_PKEY *b);
    ]]
end

local function with_bio(text, fn)
    local bio = C.BIO_new_mem_buf(text, #text)
    if bio == nil then
        return nil
    end
    local res = fn(bio)
    C.BIO_free(bio)
    return res
end

local function der_pointer(text)
    local buf = ffi_new("const unsigned char *[1]")
    buf[0] = text
    return buf
end

local function load_certificate(text)
    local x509
    if find(text, "-----BEGIN", 1, true) then
        x509 = with_bio(text, function(bio)
            return C.PEM_read_bio_X509(bio, nil, nil, nil)
        end)
    else
        x509 = C.d2i_X509(nil, der_pointer(text), #text)
    end
    C.ERR_clear_error()
    if x509 == nil then
        return false
    end
    C.X509_free(x509)
    return true
end

-- kind: "private", "public" or nil (either); an EVP_PKEY the caller frees.
local function load_key(text, kind)
    local pkey
    local pem = find(text, "-----BEGIN", 1, true)
    if kind ~= "public" then
        if pem then
            pkey = with_bio(text, function(bio)
                return C.PEM_read_bio_PrivateKey(bio, nil, nil, nil)
            end)
        else
            pkey = C.d2i_AutoPrivateKey(nil, der_pointer(text), #text)
        end
    end
    if pkey == nil and kind ~= "private" then
        if pem then
            pkey = with_bio(text, function(bio)
                return C.PEM_read_bio_PUBKEY(bio, nil, nil, nil)
            end)
        else
            pkey = C.d2i_PUBKEY(nil, der_pointer(text), #text)
        end
    end
    C.ERR_clear_error()
    if pkey == nil then
        return nil
    end
    return pkey
end

function _M.certificate(cert)
    if load_certificate(cert) then
        return true
    end
    return nil, "invalid certificate: unable to load certificate"
end

function _M.key(key)
    local pkey = load_key(key)
    if not pkey then
        return nil, "invalid key: unable to load key"
    end
    C.EVP_PKEY_free(pkey)
    return true
end

-- typedefs.pem: a private and/or public key in PEM; when both are given
-- they must be a pair.
function _M.pem_keys(values, is_reference)
    local public, private = values.public_key, values.private_key
    if is_reference(public) or is_reference(private) then
        return true
    end
    local pub, priv
    if type(public) == "string" then
        pub = load_key(public, "public")
        if not pub then
            return false, "could not load public key"
        end
    end
    if type(private) == "string" then
        priv = load_key(private, "private")
        if not priv then
            if pub then
                C.EVP_PKEY_free(pub)
            end
            return false, "could not load private key"
        end
    end
    local ok = true
    if pub and priv then
        ok = C.EVP_PKEY_eq(priv, pub) == 1
    end
    if pub then
        C.EVP_PKEY_free(pub)
    end
    if priv then
        C.EVP_PKEY_free(priv)
    end
    if not ok then
        return false, "public key does not match private key"
    end
    return true
end

local JWK_MEMBERS = {
    RSA = { "n", "e" },
    EC = { "crv", "x", "y" },
    OKP = { "crv", "x" },
    oct = { "k" },
}

-- typedefs.jwk: a key type we know and the members it cannot do without.
function _M.jwk(key, is_reference)
    if is_reference(key) then
        return true
    end
    local needed = type(key) == "table" and JWK_MEMBERS[key.kty]
    if not needed then
        return false, "could not load JWK, likely not a valid key"
    end
    for i = 1, #needed do
        if type(key[needed[i]]) ~= "string" or key[needed[i]] == "" then
            return false, "could not load JWK, likely not a valid key"
        end
    end
    return true
end

return _M
