-- redirect (Kong 3.9): answer every request with a redirect to `location`.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "redirect",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { status_code = { type = "integer", required = true, default = 301,
                                  between = { 100, 599 } } },
                { location = typedefs.url { required = true } },
                { keep_incoming_path = { type = "boolean", default = false } },
            },
        } },
    },
}
