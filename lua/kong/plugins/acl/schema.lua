-- acl (Kong 3.9): allow or deny consumers by their groups.
local typedefs = require("kong.db.schema.typedefs")

return {
    name = "acl",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { allow = { type = "array", elements = { type = "string" } } },
                { deny = { type = "array", elements = { type = "string" } } },
                { hide_groups_header = { type = "boolean", required = true, default = false } },
                { always_use_authenticated_groups = { type = "boolean", required = true,
                                                      default = false } },
            },
        } },
    },
    entity_checks = {
        { only_one_of = { "config.allow", "config.deny" } },
        { at_least_one_of = { "config.allow", "config.deny" } },
    },
}
