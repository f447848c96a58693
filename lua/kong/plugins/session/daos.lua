-- session's server-side sessions (storage = kong), Kong 3.9's entity. Rows
-- are written by the data plane through the control plane's write channel
-- (docs/contracts.md) and expire with their ttl; deleting one through the
-- Admin API (`DELETE /sessions/{id or session_id}`) ends that session.
local typedefs = require("kong.db.schema.typedefs")

return {
    {
        name = "sessions",
        primary_key = { "id" },
        endpoint_key = "session_id",
        cache_key = { "session_id" },
        ttl = true,
        db_export = false,
        fields = {
            { id = typedefs.uuid },
            { session_id = { type = "string", unique = true, required = true } },
            { expires = { type = "integer" } },
            { data = { type = "string" } },
            { created_at = typedefs.auto_timestamp_s },
        },
    },
}
