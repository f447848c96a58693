-- basic-auth password checks (lua/kong/plugins/basic-auth/password.lua) and the
-- re-hash queue they feed (kongpy.rehash).
local crypto = require("kongpy.tools.crypto")
local str = require("kongpy.tools.string")
local rehash = require("kongpy.rehash")
local eq = require("runner").eq

local to_hex = str.to_hex

-- Made by plugins/basic-auth/daos.py (tests/plugins/basic_auth/test_api.py).
local VECTOR = "$pbkdf2-sha256$i=10000$AAECAwQFBgcICQoLDA0ODw==$"
    .. "5RUHDgNTp9sBOWGYS4e6u57cz/Sq3/TQgaDP/8MW6L8="
local CONSUMER = { id = "0b7d2a4e-3c1f-4f57-a1c7-8f1b7d4c2e10" }

-- The module, loaded afresh over a counting PBKDF2: how many runs a check costs.
local runs = 0
local function load_passwords()
    local original = crypto.pbkdf2
    crypto.pbkdf2 = function(...)
        runs = runs + 1
        return original(...)
    end
    package.loaded["kong.plugins.basic-auth.password"] = nil
    local ok, mod = pcall(require, "kong.plugins.basic-auth.password")
    crypto.pbkdf2 = original
    assert(ok, mod)
    return mod
end

local passwords = load_passwords()
local verify = passwords.verify

local function credential(id, stored)
    return { id = id, password = stored, consumer = CONSUMER }
end

local cases = {}

local function case(name, fn)
    cases[#cases + 1] = { name, fn }
end

case("a hash made by the control plane", function()
    local cred = credential("c1", VECTOR)
    eq(verify(cred, "correct horse"), true)
    eq(verify(cred, "correct horsE"), false, "wrong")
    eq(verify(cred, ""), false, "empty")
end)

case("new hashes", function()
    local h = assert(passwords.hash("s3cret"))
    local iterations, salt, hash = h:match("^%$pbkdf2%-sha256%$i=(%d+)%$([^$]+)%$([^$]+)$")
    eq(tonumber(iterations), passwords.ITERATIONS, "iterations")
    eq(#ngx.decode_base64(salt), 16, "salt length")
    eq(#ngx.decode_base64(hash), 32, "hash length")
    eq(passwords.hash("s3cret") ~= h, true, "a new salt each time")
    local ok, legacy = verify(credential("c2", h), "s3cret")
    eq(ok, true)
    eq(legacy, nil, "not legacy")
end)

case("malformed stored values never match", function()
    for _, stored in ipairs({
        "$pbkdf2-sha256$i=0$AAECAwQFBgcICQoLDA0ODw==$5RUHDgNTp9sBOWGYS4e6u57cz/Sq3/TQgaDP/8MW6L8=",
        "$pbkdf2-sha256$i=99999999$AAEC$5RUHDgNTp9sBOWGYS4e6u57cz/Sq3/TQgaDP/8MW6L8=",
        "$pbkdf2-sha256$i=10000$AAEC$AAEC",
        "$pbkdf2-sha1$i=10000$AAECAwQFBgcICQoLDA0ODw==$5RUHDgNTp9sBOWGYS4e6u57cz/Sq3/TQgaDP/8M=",
        "$", "", "correct horse",
    }) do
        eq(verify(credential("bad", stored), "correct horse"), false, stored)
    end
    eq(verify(credential("bad", nil), "x"), false, "no password")
end)

case("kong's legacy sha-1 format", function()
    local stored = to_hex(ngx.sha1_bin("pw" .. CONSUMER.id))
    local ok, legacy = verify(credential("l1", stored), "pw")
    eq(ok, true)
    eq(legacy, true, "reported as legacy")
    eq(verify(credential("l1", stored), "pW"), false, "wrong")
    eq(verify(credential("l1", stored:upper()), "pw"), false, "upper-case hex is not Kong's")
end)

case("successes are remembered per credential and stored hash", function()
    local h1 = assert(passwords.hash("one"))
    local h2 = assert(passwords.hash("two"))
    runs = 0
    eq(verify(credential("k1", h1), "one"), true)
    eq(runs, 1, "first check derives")
    eq(verify(credential("k1", h1), "one"), true)
    eq(runs, 1, "repeated check is a cache hit")
    eq(verify(credential("k1", h1), "two"), false)
    eq(runs, 2, "a wrong password always derives")
    eq(verify(credential("k1", h1), "one"), true)
    eq(runs, 2, "a failure does not evict the success")
    -- the password changed: the old entry never matches the new stored hash
    eq(verify(credential("k1", h2), "one"), false)
    eq(verify(credential("k1", h2), "two"), true)
    eq(verify(credential("k1", h2), "two"), true)
    eq(runs, 4, "one derivation per new stored hash")
    eq(verify(credential("k1", h1), "one"), true, "back to the old one")
    eq(runs, 5)
end)

case("the re-hash queue", function()
    local made = 0
    local function make(secret)
        made = made + 1
        return "new:" .. secret
    end
    eq(rehash.count(), 0)
    eq(rehash.take(10), "[]", "empty")
    eq(rehash.queue("creds", "id1", "old1", make, "pw"), true)
    eq(rehash.queue("creds", "id1", "old1", make, "pw"), false, "claimed already")
    eq(rehash.queue("creds", "id2", "old2", make, "pw2"), true)
    eq(made, 2, "made once per credential")
    eq(rehash.count(), 2)
    local taken = require("cjson.safe").decode(rehash.take(1))
    eq(#taken, 1, "at most max")
    eq(taken[1].id, "id1", "oldest first")
    eq(taken[1].old, "old1")
    eq(taken[1].new, "new:pw")
    eq(taken[1].entity, "creds")
    eq(#require("cjson.safe").decode(rehash.take(10)), 1, "the rest")
    eq(rehash.count(), 0)
    eq(rehash.queue("creds", "id3", "old", function() return nil end, "pw"), false, "no hash")
    eq(rehash.count(), 0)
end)

return cases
