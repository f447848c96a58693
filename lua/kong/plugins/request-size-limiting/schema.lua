-- request-size-limiting (Kong 3.9): refuse request bodies beyond a size.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "request-size-limiting",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { allowed_payload_size = { type = "integer", default = 128 } },
                { size_unit = { type = "string", required = true, default = "megabytes",
                                one_of = { "megabytes", "kilobytes", "bytes" } } },
                { require_content_length = { type = "boolean", required = true,
                                             default = false } },
            },
        } },
    },
}
