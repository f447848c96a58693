-- The plugins entity of Kong 3.9: each plugin's schema.lua becomes a
-- subschema selected by `name` (Entity.new_subschema(plugins, name, def)).
local typedefs = require("kong.db.schema.typedefs")

local null = ngx.null

return {
    name = "plugins",
    primary_key = { "id" },
    cache_key = { "name", "route", "service", "consumer" },
    dao = "kong.db.dao.plugins",
    workspaceable = true,
    endpoint_key = "instance_name",
    subschema_key = "name",
    subschema_error = "plugin '%s' not enabled; add it to the 'plugins' configuration property",
    fields = {
        { id = typedefs.uuid },
        { name = { type = "string", required = true,
                   description = "The name of the Plugin that's going to be added." } },
        { instance_name = typedefs.utf8_name },
        { created_at = typedefs.auto_timestamp_s },
        { updated_at = typedefs.auto_timestamp_s },
        { route = { type = "foreign", reference = "routes", default = null,
                    on_delete = "cascade",
                    description = "If set, the plugin will only activate when receiving "
                        .. "requests via the specified route." } },
        { service = { type = "foreign", reference = "services", default = null,
                      on_delete = "cascade",
                      description = "If set, the plugin will only activate when receiving "
                          .. "requests via one of the routes belonging to the specified "
                          .. "service. " } },
        { consumer = { type = "foreign", reference = "consumers", default = null,
                       on_delete = "cascade",
                       description = "If set, the plugin will activate only for requests "
                           .. "where the specified has been authenticated." } },
        { config = { type = "record", abstract = true,
                     description = "The configuration properties for the Plugin." } },
        { protocols = typedefs.protocols },
        { enabled = { type = "boolean", required = true, default = true,
                      description = "Whether the plugin is applied." } },
        { tags = typedefs.tags },
    },
}
