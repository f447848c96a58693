-- bot-detection (Kong 3.9): refuse requests whose User-Agent looks like a bot.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "bot-detection",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { allow = { type = "array", default = {},
                            elements = { type = "string", is_regex = true } } },
                { deny = { type = "array", default = {},
                           elements = { type = "string", is_regex = true } } },
            },
        } },
    },
}
