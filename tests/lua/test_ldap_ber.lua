-- ldap-auth's BER encoding and decoding (kong.plugins.ldap-auth.ber) against
-- bytes worked out from RFC 4511 and X.690 by hand, and answers as slapd sends them.
local ber = require("kong.plugins.ldap-auth.ber")
local eq = require("runner").eq

local function hex(s)
    return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function unhex(h)
    return (h:gsub("%s", ""):gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function result(raw)
    local r, err = ber.decode_result(unhex(raw))
    return r, err
end

return {
    { "lengths: short and long forms", function()
        eq(hex(ber.encode_length(0)), "00")
        eq(hex(ber.encode_length(127)), "7f")
        eq(hex(ber.encode_length(128)), "8180")
        eq(hex(ber.encode_length(200)), "81c8")
        eq(hex(ber.encode_length(300)), "82012c")
        eq(hex(ber.encode_length(70000)), "83011170")
    end },
    { "integers: minimal two's complement", function()
        eq(hex(ber.encode_integer(0)), "020100")
        eq(hex(ber.encode_integer(3)), "020103")
        eq(hex(ber.encode_integer(127)), "02017f")
        eq(hex(ber.encode_integer(128)), "02020080")
        eq(hex(ber.encode_integer(256)), "02020100")
        eq(hex(ber.encode_integer(-1)), "0201ff")
        eq(hex(ber.encode_integer(2147483647)), "02047fffffff")
    end },
    { "simple BindRequest", function()
        eq(hex(ber.bind_request(1, "cn=a", "pw")),
           "3012020101600d020103040463" .. "6e3d61" .. "80027077")
    end },
    { "BindRequest with a long password uses long-form lengths", function()
        local msg = ber.bind_request(5, "uid=x", string.rep("p", 200))
        eq(hex(msg:sub(1, 2)), "3081")
        eq(msg:byte(3), #msg - 3)
        eq(hex(msg:sub(7, 8)), "6081")
        eq(#msg, 3 + 3 + 3 + 3 + 7 + 3 + 200)
    end },
    { "UnbindRequest and StartTLS ExtendedRequest", function()
        eq(hex(ber.unbind_request(3)), "30050201034200")
        eq(hex(ber.start_tls_request(2)),
           "301d02010277188016" .. hex("1.3.6.1.4.1.1466.20037"))
    end },
    { "BindResponse: success, invalid credentials with a message", function()
        local r = assert(result("300c02010161070a010004000400"))
        eq(r.id, 1)
        eq(r.op, ber.BIND_RESPONSE)
        eq(r.code, 0)
        eq(r.matched_dn, "")
        eq(r.diagnostic, "")
        r = assert(result("3011020107610c0a013104000405" .. hex("nope!")))
        eq(r.id, 7)
        eq(r.code, 49)
        eq(r.diagnostic, "nope!")
    end },
    { "ExtendedResponse with a responseName after the result", function()
        local name = "8a16" .. hex(ber.START_TLS_OID)
        local op = "0a0100" .. "0400" .. "0400" .. name
        local r = assert(result("30" .. ("%02x"):format(3 + 2 + #op / 2) .. "020102"
                                .. "78" .. ("%02x"):format(#op / 2) .. op))
        eq(r.op, ber.EXTENDED_RESPONSE)
        eq(r.code, 0)
        eq(r.id, 2)
    end },
    { "long-form lengths decode", function()
        local diag = string.rep("d", 150)
        local op = "0a0101" .. "0400" .. "0481" .. ("%02x"):format(150) .. hex(diag)
        local oplen = #op / 2
        local body = "020109" .. "6181" .. ("%02x"):format(oplen) .. op
        local r = assert(result("3081" .. ("%02x"):format(#body / 2) .. body))
        eq(r.code, 1)
        eq(r.diagnostic, diag)
    end },
    { "malformed messages are errors, not answers", function()
        local r, err = result("300c02010161070a0100040004")
        eq(r, nil)
        eq(err, "truncated BER element")
        r, err = result("300c02010164070a010004000400")
        eq(r, nil)
        eq(err, "not an LDAP result")
        r, err = result("3080")
        eq(r, nil)
        eq(err, "unsupported BER length")
        r, err = result("310c02010161070a010004000400")
        eq(r, nil)
        eq(err, "unexpected BER tag")
        r, err = result("300c02010161070201000400" .. "0400")
        eq(r, nil)
        eq(err, "unexpected BER tag")
        eq(ber.extra_length_bytes(0x85), nil)
        eq(ber.extra_length_bytes(0x82), 2)
        eq(ber.content_length(0x82, "\1\44"), 300)
    end },
    { "DN values are escaped (RFC 4514)", function()
        eq(ber.escape_dn_value("einstein"), "einstein")
        eq(ber.escape_dn_value("a,ou=x"), "a\\,ou\\=x")
        eq(ber.escape_dn_value("#a b "), "\\#a b\\ ")
        eq(ber.escape_dn_value(' x+"<>;\\'), '\\ x\\+\\"\\<\\>\\;\\\\')
        eq(ber.escape_dn_value("a\0b"), "a\\00b")
    end },
}
