-- acl's consumer groups (Kong 3.9): a group is unique within its consumer.
local typedefs = require("kong.db.schema.typedefs")

return {
    {
        name = "acls",
        primary_key = { "id" },
        cache_key = { "consumer", "group" },
        endpoint_key = "group",
        workspaceable = true,
        admin_api_name = "acls",
        admin_api_nested_name = "acls",
        fields = {
            { id = typedefs.uuid },
            { created_at = typedefs.auto_timestamp_s },
            { consumer = { type = "foreign", reference = "consumers", required = true,
                           on_delete = "cascade" } },
            { group = { type = "string", required = true } },
            { tags = typedefs.tags },
        },
    },
}
