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
