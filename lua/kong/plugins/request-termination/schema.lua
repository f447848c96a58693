-- request-termination (Kong 3.9): answer with a fixed response instead of proxying.
local typedefs = require("kong.db.schema.typedefs")

local function present(value)
    return type(value) == "string" and value ~= ""
end

local function check(config)
    if present(config.message) and (present(config.content_type) or present(config.body)) then
        return nil, "message cannot be used with content_type or body"
    end
    if present(config.content_type) and not present(config.body) then
        return nil, "content_type requires a body"
    end
    if config.echo and (present(config.content_type) or present(config.body)) then
        return nil, "echo cannot be used with content_type and body"
    end
    return true
end

return {
    name = "request-termination",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { status_code = { type = "integer", required = true, default = 503,
                                  between = { 100, 599 } } },
                { message = { type = "string" } },
                { content_type = { type = "string" } },
                { body = { type = "string" } },
                { echo = { type = "boolean", required = true, default = false } },
                { trigger = typedefs.header_name },
            },
            custom_validator = check,
        } },
    },
}
