-- prometheus (Kong 3.9): which per-request metrics a scope records; the
-- node's own metrics are always exported (docs/metrics.md).
local typedefs = require("kong.db.schema.typedefs")

local ERR_NO_DICT = "ngx shared dict 'prometheus_metrics' not found"
-- kongpy runs no AI plugins: the switch would count nothing, so it is refused
-- rather than accepted and ignored
local ERR_NO_AI = "ai_metrics cannot be enabled: kongpy has no AI plugins"

local function validate_shared_dict()
    if not ngx.shared.prometheus_metrics then
        return nil, ERR_NO_DICT
    end
    return true
end

local function no_ai(value)
    if value then
        return nil, ERR_NO_AI
    end
    return true
end

return {
    name = "prometheus",
    fields = {
        -- Kong also counts stream sessions; kongpy's stream data plane has no
        -- metrics yet, so stream protocols are refused (docs/metrics.md)
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { per_consumer = { type = "boolean", default = false } },
                { status_code_metrics = { type = "boolean", default = false } },
                { ai_metrics = { type = "boolean", default = false,
                                 custom_validator = no_ai } },
                { latency_metrics = { type = "boolean", default = false } },
                { bandwidth_metrics = { type = "boolean", default = false } },
                { upstream_health_metrics = { type = "boolean", default = false } },
            },
            custom_validator = validate_shared_dict,
        } },
    },
}
