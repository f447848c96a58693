-- kongpy.tools.crypto against known vectors and keys made with the openssl CLI.
local crypto = require("kongpy.tools.crypto")
local str = require("kongpy.tools.string")
local eq = require("runner").eq

local decode_base64 = ngx.decode_base64
local to_hex = str.to_hex

local RSA_PUB = [[
-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCyXOujxCurDC9SqbxyVngpx5J3
+I6puPvkttovWRT/VQ+QMpWaEndDoOTWKnJ2tSQceODUrncPXdw4Ssdsq8/hDBPA
2+0/10GCekWfAaJMTTSRY9KAA1FsShCSHVurjTs0j1ITu+jJj0ILGCxQnrtQUMz5
ywSBdhYXsiy2jdVDgwIDAQAB
-----END PUBLIC KEY-----
]]
local RSA_DER = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCyXOujxCurDC9SqbxyVngpx5J3+I6pu"
    .. "PvkttovWRT/VQ+QMpWaEndDoOTWKnJ2tSQceODUrncPXdw4Ssdsq8/hDBPA2+0/10GCekWfAaJM"
    .. "TTSRY9KAA1FsShCSHVurjTs0j1ITu+jJj0ILGCxQnrtQUMz5ywSBdhYXsiy2jdVDgwIDAQAB"
local RSA_SIG = "IXyoXN6QUy+2fMtlqjAXM3EifT5lNWwpO3zRlXORdg72OoOoVJLDvPup/dcybtz7hcTpEOI8"
    .. "R+WqMgaWBzsNYElGefAxAh9wgmxom91sStNQQz8bfCvw8wF5i9y9d9xdGRmF9zZMiWZTqk/nQjTGS"
    .. "bFlxybZFGZjdeSC8IpC5AQ="
local PSS_SIG = "WJ7oDP23FKfHCdVk45Q0ZiAP3CAzMNWMr7OtSJbcijYOI9B6Br3nZJWaBT6Sto5WEMVBUtEm"
    .. "YkClGMvnlXk9aj61vh9s4/GsAHE8xnrJJPYvO6HqK1YQrp20/tU28YKoeJWGfmxkV+7n7fTAurFmz"
    .. "YSVLaXC/q/KvEEQYdL0Ejo="
local EC_PUB = [[
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEGa+RKTvJ4H5GOYjDTpywrJeuwYom
MjkvBEx5mhLYMILn07nEzAfE8J5gdG8Loykstx/ecbGvWE157sGu87QPxg==
-----END PUBLIC KEY-----
]]
local EC_RAW_SIG = "fgJu1zLIgxVgRQOFk2Mh7tudkwsCce2zsj2LMQdQrHB6Asi72eVdqOrnkoSxCWFSNte1FRO7"
    .. "/uuh7dmzChd3AQ=="
local ED_PUB = [[
-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEA4TElN0/YKWD0M1YSbs1uj6jVD6RrbnwkM+QPoMsfDrg=
-----END PUBLIC KEY-----
]]
local ED_SIG = "UayJdzIkBY0aAb6JnblI77RBNDdraLw55Xo/w0KClGo1etnNJgt0f/3V6gpn0QbzGeG53v2mo9n"
    .. "Cx4/i54aoAQ=="

local cases = {}

local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

case("sha256 digest", function()
    eq(to_hex(crypto.digest("sha256", "abc")),
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    eq(#crypto.digest("sha512", ""), 64, "sha512 size")
    eq(crypto.digest("md4", "abc"), nil, "unknown digest")
end)

case("hmac vectors (RFC 4231 case 2)", function()
    local key, data = "Jefe", "what do ya want for nothing?"
    eq(to_hex(crypto.hmac("sha256", key, data)),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    eq(to_hex(crypto.hmac("sha384", key, data)),
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
       .. "8e2240ca5e69e2c78b3239ecfab21649")
    eq(crypto.hmac("sha1", key, data), ngx.hmac_sha1(key, data), "sha1 = ngx.hmac_sha1")
    eq(#crypto.hmac("sha512", "", ""), 64, "empty key")
end)

-- RFC 7914 §11 and the PBKDF2-HMAC-SHA256 vectors commonly derived from RFC 6070.
case("pbkdf2-hmac-sha256 vectors", function()
    local function pbkdf2(password, salt, iterations, length)
        return to_hex(assert(crypto.pbkdf2("sha256", password, salt, iterations, length)))
    end
    eq(pbkdf2("passwd", "salt", 1, 64),
       "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
       .. "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783", "rfc 7914 #1")
    eq(pbkdf2("Password", "NaCl", 80000, 64),
       "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
       .. "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d", "rfc 7914 #2")
    eq(pbkdf2("password", "salt", 1, 32),
       "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", "c=1")
    eq(pbkdf2("password", "salt", 2, 32),
       "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43", "c=2")
    eq(pbkdf2("password", "salt", 4096, 32),
       "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a", "c=4096")
    eq(pbkdf2("passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40),
       "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9",
       "long inputs")
    eq(pbkdf2("pass\0word", "sa\0lt", 4096, 16), "89b69d0516f829893c696226650a8687",
       "embedded NUL bytes")
    eq(crypto.pbkdf2("md4", "p", "s", 1, 32), nil, "unknown digest")
    eq(crypto.pbkdf2("sha256", "p", "s", 0, 32), nil, "no iterations")
    eq(crypto.pbkdf2("sha256", "p", "s", 1, 65), nil, "too long")
end)

case("random bytes", function()
    local a, b = crypto.random_bytes(16), crypto.random_bytes(16)
    eq(#a, 16, "length")
    eq(a ~= b, true, "two draws differ")
    eq(#crypto.random_bytes(64), 64, "max")
    eq(crypto.random_bytes(65), nil, "too many")
end)

case("constant-time equality", function()
    eq(crypto.equal("abc", "abc"), true)
    eq(crypto.equal("abc", "abd"), false)
    eq(crypto.equal("abc", "ab"), false)
    eq(crypto.equal("abc", nil), false)
end)

case("base64url", function()
    eq(crypto.decode_base64url("eyJhIjoxfQ"), '{"a":1}')
    eq(crypto.decode_base64url("_-8"), "\255\239")
    eq(crypto.decode_base64url(""), "")
    eq(crypto.decode_base64url("a"), nil, "one char")
    eq(crypto.decode_base64url("a.b"), nil, "dot")
    eq(crypto.decode_base64url("%%%%"), nil, "garbage")
    eq(crypto.decode_base64url(nil), nil, "nil")
end)

case("public keys", function()
    local rsa = assert(crypto.load_public_key(RSA_PUB))
    eq(crypto.key_type(rsa), "RSA")
    eq(crypto.key_bits(rsa), 1024)
    eq(crypto.key_type(assert(crypto.load_public_key(decode_base64(RSA_DER)))), "RSA")
    eq(crypto.key_type(assert(crypto.load_public_key(EC_PUB))), "EC")
    eq(crypto.key_type(assert(crypto.load_public_key(ED_PUB))), "ED25519")
    local none, err = crypto.load_public_key("-----BEGIN PUBLIC KEY-----\nxx\n")
    eq(none, nil, "bad pem")
    eq(err, "invalid key")
    eq(crypto.load_public_key("garbage"), nil, "bad der")
    eq(crypto.load_public_key(""), nil, "empty")
end)

case("rsa pkcs1 and pss signatures", function()
    local rsa = crypto.load_public_key(RSA_PUB)
    eq(crypto.verify(rsa, "sha256", "hello", decode_base64(RSA_SIG)), true, "pkcs1")
    eq(crypto.verify(rsa, "sha256", "hellO", decode_base64(RSA_SIG)), false, "tampered")
    eq(crypto.verify(rsa, "sha512", "hello", decode_base64(RSA_SIG)), false, "digest")
    eq(crypto.verify(rsa, "sha256", "hello", decode_base64(PSS_SIG), "pss"), true, "pss")
    eq(crypto.verify(rsa, "sha256", "hello", decode_base64(PSS_SIG)), false, "pss as pkcs1")
    eq(crypto.verify(rsa, "sha256", "hello", "short"), false, "garbage signature")
end)

case("ecdsa raw signatures", function()
    local ec = crypto.load_public_key(EC_PUB)
    local der = assert(crypto.ecdsa_raw_to_der(decode_base64(EC_RAW_SIG), 32))
    eq(crypto.verify(ec, "sha256", "hello", der), true, "es256")
    eq(crypto.verify(ec, "sha256", "hello!", der), false, "tampered")
    eq(crypto.ecdsa_raw_to_der("short", 32), nil, "length")
    local zeros = assert(crypto.ecdsa_raw_to_der(string.rep("\0", 64), 32))
    eq(crypto.verify(ec, "sha256", "hello", zeros), false, "zero r and s")
end)

case("ed25519 signatures", function()
    local ed = crypto.load_public_key(ED_PUB)
    eq(crypto.verify(ed, nil, "hello", decode_base64(ED_SIG)), true, "eddsa")
    eq(crypto.verify(ed, nil, "hello?", decode_base64(ED_SIG)), false, "tampered")
end)

return cases
