-- basic-auth (Kong 3.9): `[Proxy-]Authorization: Basic base64(user:pass)`.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "basic-auth",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { anonymous = { type = "string" } },
                { hide_credentials = { type = "boolean", required = true, default = false } },
                { realm = { type = "string", required = true, default = "service" } },
            },
        } },
    },
}
