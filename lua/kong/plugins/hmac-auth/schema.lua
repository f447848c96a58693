-- hmac-auth (Kong 3.9): HMAC signatures of request headers (and body).
local typedefs = require("kong.db.schema.typedefs")

local ALGORITHMS = { "hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512" }

return {
    name = "hmac-auth",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { hide_credentials = { type = "boolean", required = true, default = false } },
                { clock_skew = { type = "number", required = true, default = 300, gt = 0 } },
                { anonymous = { type = "string" } },
                { validate_request_body = { type = "boolean", required = true,
                                            default = false } },
                { enforce_headers = { type = "array", required = true, default = {},
                                      elements = { type = "string" } } },
                { algorithms = { type = "array", required = true, default = ALGORITHMS,
                                 elements = { type = "string", one_of = ALGORITHMS } } },
                { realm = { type = "string", required = false } },
            },
        } },
    },
}
