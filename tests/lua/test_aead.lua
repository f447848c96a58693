-- kongpy.tools.aead: AES-256-GCM against vectors made with Python's
-- cryptography package, HKDF-SHA256 against RFC 5869's test case 1.
local aead = require("kongpy.tools.aead")
local str = require("kongpy.tools.string")
local eq = require("runner").eq

local to_hex = str.to_hex

local function bytes(from, to)
    local t = {}
    for i = from, to do
        t[#t + 1] = string.char(i)
    end
    return table.concat(t)
end

local KEY = bytes(0, 31)
local IV = bytes(100, 111)

return {
    { "AES-256-GCM encrypts as other implementations do", function()
        local ct, tag = aead.encrypt(KEY, IV, "hello, session", "header-aad")
        eq(to_hex(ct), "207eb20a16c576ed5b112c81b50b")
        eq(to_hex(tag), "a2f32a8d3da8048c3745016108c30da0")
        ct, tag = aead.encrypt(KEY, IV, "", "")
        eq(ct, "")
        eq(to_hex(tag), "609bd50f6ad76df665f048ba8c5fd706")
    end },
    { "AES-256-GCM decrypts and refuses any change", function()
        local ct, tag = aead.encrypt(KEY, IV, "hello, session", "header-aad")
        eq(aead.decrypt(KEY, IV, ct, tag, "header-aad"), "hello, session")
        local flipped = string.char(bit.bxor(ct:byte(1), 1)) .. ct:sub(2)
        local p, err = aead.decrypt(KEY, IV, flipped, tag, "header-aad")
        eq(p, nil)
        eq(err, "authentication failed")
        eq(aead.decrypt(KEY, IV, ct, tag, "header-aaD"), nil)
        eq(aead.decrypt(KEY, IV, ct, string.rep("\0", 16), "header-aad"), nil)
        eq(aead.decrypt(bytes(1, 32), IV, ct, tag, "header-aad"), nil)
        eq(select(2, aead.decrypt(KEY, IV, ct, "short", "header-aad")),
           "invalid key, iv or tag length")
        eq(select(2, aead.encrypt("short", IV, "x")), "invalid key, iv or tag length")
        -- a long plaintext, and the context reused afterwards
        local long = string.rep("0123456789", 1000)
        ct, tag = aead.encrypt(KEY, IV, long)
        eq(aead.decrypt(KEY, IV, ct, tag), long)
    end },
    { "HKDF-SHA256 (RFC 5869 test case 1)", function()
        local okm = aead.hkdf_sha256(string.rep("\11", 22), bytes(0, 12), bytes(0xf0, 0xf9), 42)
        eq(to_hex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                        .. "34007208d5b887185865")
        -- test case 3: no salt, no info
        okm = aead.hkdf_sha256(string.rep("\11", 22), "", "", 42)
        eq(to_hex(okm), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                        .. "9d201395faa4b61a96c8")
    end },
}
