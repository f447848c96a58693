-- ldap-auth (Kong 3.9): HTTP credentials checked by an LDAPv3 simple bind.
-- The cache key covers ldap_host, ldap_port, base_dn, attribute and
-- cache_ttl (handler.lua), as Kong's does.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "ldap-auth",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { ldap_host = typedefs.host({ required = true }) },
                { ldap_port = typedefs.port({ required = true, default = 389 }) },
                { ldaps = { type = "boolean", required = true, default = false } },
                { start_tls = { type = "boolean", required = true, default = false } },
                { verify_ldap_host = { type = "boolean", required = true, default = false } },
                { base_dn = { type = "string", required = true } },
                { attribute = { type = "string", required = true } },
                { cache_ttl = { type = "number", required = true, default = 60 } },
                { hide_credentials = { type = "boolean", required = true, default = false } },
                { timeout = { type = "number", default = 10000 } },
                { keepalive = { type = "number", default = 60000 } },
                { anonymous = { type = "string" } },
                { header_type = { type = "string", default = "ldap" } },
                { realm = { type = "string", required = false } },
            },
            entity_checks = {
                { conditional = {
                    if_field = "ldaps", if_match = { eq = true },
                    then_field = "start_tls", then_match = { eq = false },
                    then_err = "'ldaps' and 'start_tls' cannot be enabled simultaneously",
                } },
            },
        } },
    },
}
