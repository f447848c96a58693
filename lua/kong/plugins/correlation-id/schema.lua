-- correlation-id (Kong 3.9): a unique id per request, in a header.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "correlation-id",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { header_name = { type = "string", default = "Kong-Request-ID" } },
                { generator = { type = "string", required = true, default = "uuid#counter",
                                one_of = { "uuid", "uuid#counter", "tracker" } } },
                { echo_downstream = { type = "boolean", required = true, default = false } },
            },
        } },
    },
}
