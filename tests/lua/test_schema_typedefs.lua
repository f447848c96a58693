-- kong.db.schema.typedefs: the validators behind Kong's typedefs and their
-- messages (hosts, IPs, CIDRs, paths, URLs, names, tags, keys, ...).
local typedefs = require("kong.db.schema.typedefs")
local pem = require("fixtures.pem")
local h = require("schema_helpers")
local eq = require("runner").eq

local same, check = h.same, h.check

local cases, case = h.suite()

-- { typedef name, value, expected error (true = valid) }
local VALUES = {
    { "host", "example.com", true },
    { "host", "1.2.3.4", true },
    { "host", "example.com:80", "must not have a port" },
    { "host", "example com", "invalid value: example com" },
    { "host", "a..b", "invalid value: a..b" },
    { "host", "a-.b", "invalid value: a-.b" },
    { "host", "300.1.1.1", "invalid value: 300.1.1.1" },
    { "host", "[::1]", true },
    { "host", "[::1]:80", "must not have a port" },
    { "host", "example.com:99999", "must not have a port" },
    { "host_with_optional_port", "example.com:8080", true },
    { "host_with_optional_port", "example.com:99999", "invalid port number" },
    { "host_with_optional_port", "bad host", "invalid hostname: bad host" },
    { "host_with_optional_port", "1.2.3.999", "invalid ipv4 address: 1.2.3.999" },
    { "wildcard_host", "*.example.com", true },
    { "wildcard_host", "example.*", true },
    { "wildcard_host", "ex*ample.com", "wildcard must be leftmost or rightmost character" },
    { "wildcard_host", "*.example.*", "only one wildcard must be specified" },
    { "wildcard_host", "1.2.3.4", "must not be an IP" },
    { "sni", "example.com", true },
    { "sni", "10.0.0.1", "must not be an IP" },
    { "sni", "example.com:443", "must not have a port" },
    { "ip", "10.0.0.1", true },
    { "ip", "::1", true },
    { "ip", "10.0.0.256", "not an ip address: 10.0.0.256" },
    { "ip_or_cidr", "10.0.0.0/8", true },
    { "ip_or_cidr", "2001:db8::/32", true },
    { "ip_or_cidr", "10.0.0.0/33", "invalid ip or cidr range: '10.0.0.0/33'" },
    { "ip_or_cidr", "nope", "invalid ip or cidr range: 'nope'" },
    { "cidr_v4", "10.0.0.0/8", true },
    { "cidr_v4", "::/0", "invalid ipv4 cidr range: '::/0'" },
    { "cidr", "10.1.0.0/16", true },
    { "port", 8000, true },
    { "port", 65536, "value should be between 0 and 65535" },
    { "timeout", -1, "value should be between 0 and 2147483646" },
    { "path", "/a/b%20c", true },
    { "path", "a", "should start with: /" },
    { "path", "/a//b", "must not have empty segments" },
    { "path", "/a b", "invalid path: '/a b' (characters outside of the reserved list of "
                      .. "RFC 3986 found)" },
    { "path", "/a%zz", "invalid url-encoded value: '%zz'" },
    { "url", "http://example.com/x", true },
    { "url", "example.com", "missing host in url" },
    { "url", "//example.com", "missing scheme in url" },
    { "header_name", "X-Api-Key_2", true },
    { "header_name", "X Api", "bad header name 'X Api', allowed characters are A-Z, a-z, "
                              .. "0-9, '_', and '-'" },
    { "cookie_name", "session", true },
    { "http_method", "GET", true },
    { "http_method", "get", "invalid value: get" },
    { "protocol", "tls_passthrough", true },
    { "protocol", "ws", "expected one of: grpc, grpcs, http, https, tcp, tls, "
                        .. "tls_passthrough, udp" },
    { "uuid", "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01", true },
    { "uuid", "x", "expected a valid UUID" },
    { "auto_timestamp_s", 1700000000, true },
    { "auto_timestamp_ms", 1700000000.5, true },
    { "name", "my-name_1.0~x", true },
    { "name", "my name", "invalid value 'my name': it must only contain alphanumeric and "
                         .. "'., -, _, ~' characters" },
    { "utf8_name", "café", true },
    { "utf8_name", "a b", "invalid value 'a b': the only accepted ascii characters are "
                          .. "alphanumerics or ., -, _, and ~" },
    { "utf8_name", "a\255", "invalid utf-8 character sequence detected at position 2" },
    { "tag", "prod env", true },
    { "tag", "a,b", "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or "
                    .. "valid utf-8 sequences" },
    { "tags", { "a", "b" }, true },
    { "protocols", { "http", "tcp" }, true },
    { "protocols_http", { "tcp" }, { "expected one of: grpc, grpcs, http, https" } },
    { "no_consumer", { id = "6a1b6d2f-04a4-4a52-9a4e-2f7c1e4c7f01" }, "value must be null" },
    { "no_route", ngx.null, true },
    { "methods", { "GET", "x" }, { [2] = "invalid value: x" } },
    { "hosts", { "*.a.com", "a.*", "b.com:80" }, true },
    { "hosts", { "a.*.com" }, { "invalid wildcard: must be placed at leftmost or rightmost "
                                .. "label" } },
    { "hosts", { "*.a.*" }, { "invalid wildcard: must have at most one wildcard" } },
    { "router_paths", { "/a", "~/b/(\\d+)$" }, true },
    { "router_paths", { "x" }, { "should start with: / (fixed path) or ~/ (regex path)" } },
    { "router_paths", { "/a/../b" }, { "non-normalized path, consider use '/b' instead" } },
    { "router_paths", { "~/(a" }, { "invalid regex: '/(a' (PCRE returned: pcre_compile() "
                                    .. "failed: missing ) in \"/(a\")" } },
    { "headers", { ["x-a"] = { "1" } }, true },
    { "headers", { ["x a"] = { "1" } }, "bad header name 'x a', allowed characters are A-Z, "
                                        .. "a-z, 0-9, '_', and '-'" },
    { "semantic_version", "1.2.3", true },
    { "semantic_version", "1.2.3-beta", true },
    { "semantic_version", "v1", "invalid version number: must be in format of X.Y.Z" },
    { "semantic_version", "1..2", "must not have empty version segments" },
    { "sources", { { ip = "10.0.0.0/8" }, { port = 80 } }, true },
    { "sources", { {} }, { { ["@entity"] = {
        "at least one of these fields must be non-empty: 'ip', 'port'" } } } },
    { "lua_code", { a = "return 1" }, true },
    { "ttl", 100, true },
    { "certificate", pem.certificate, true },
    { "certificate", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
      "invalid certificate: unable to load certificate" },
    { "key", pem.private_key, true },
    { "key", pem.public_key, true },
    { "key", "garbage", "invalid key: unable to load key" },
    { "pem", { private_key = pem.private_key, public_key = pem.public_key }, true },
    { "pem", { public_key = pem.public_key }, true },
    { "pem", { private_key = pem.private_key, public_key = pem.other_public_key },
      "public key does not match private key" },
    { "pem", { public_key = "nope" }, "could not load public key" },
    { "pem", {}, { ["@entity"] = {
        "at least one of these fields must be non-empty: 'private_key', 'public_key'" } } },
    { "jwk", { kid = "1", kty = "EC", crv = "P-256", x = "a", y = "b" }, true },
    { "jwk", { kid = "1", kty = "RSA", n = "a" }, "could not load JWK, likely not a valid key" },
    { "jwk", { kty = "oct", k = "a" }, { kid = "required field missing" } },
}
for i, c in ipairs(VALUES) do
    case(("typedef %s #%d"):format(c[1], i), function()
        same(check(typedefs[c[1]], c[2]), c[3], c[1] .. " " .. tostring(c[2]))
    end)
end

case("lua_code refuses code that does not compile", function()
    local err = check(typedefs.lua_code, { a = "return (" })
    eq(type(err), "string")
    eq(err:find("expected", 1, true) ~= nil, true)
end)

case("references pass referenceable fields", function()
    local f = typedefs.host { referenceable = true }
    eq(check(f, "{vault://env/redis-host}"), true)
    same(check(typedefs.host, "{vault://env/redis-host}"),
         "invalid value: {vault://env/redis-host}")
end)

case("queue and redis records", function()
    local queue = typedefs.queue
    eq(check(queue, { max_batch_size = 10 }), true)
    same(check(queue, { concurrency_limit = 2 }), { concurrency_limit = "expected one of: -1, 1" })
    local redis = require("kong.tools.redis.schema").config_schema
    eq(check(redis, { host = "localhost" }), true)
    same(check(redis, { host = "localhost", port = 70000 }),
         { port = "value should be between 0 and 65535" })
    eq(check(redis, { host = "localhost", port = 6379, password = "" }), true)
end)

case("typedef defaults", function()
    same(typedefs.protocols.default, { "grpc", "grpcs", "http", "https" })
    eq(typedefs.tag.required, true)
    eq(typedefs.uuid.auto, true)
    eq(typedefs.name.unique, true)
end)

return cases
