-- ip-restriction (Kong 3.9): allow or deny clients by address or network.
local typedefs = require("kong.db.schema.typedefs")

-- Prefix lengths only (no netmask form) and no zone ids: what the data
-- plane's matcher parses; anything else is refused rather than misread.
local ip_or_cidr = typedefs.ip_or_cidr
local check_ip_or_cidr = ip_or_cidr.custom_validator

local function parsable(value)
    local _, _, bits = value:find("/(.*)$")
    if value:find("%", 1, true) or (bits and not bits:match("^%d+$")) then
        return nil, "invalid ip or cidr range: '" .. value .. "'"
    end
    return check_ip_or_cidr(value)
end

local ADDRESS = { type = "string", custom_validator = parsable }

return {
    name = "ip-restriction",
    fields = {
        { protocols = typedefs.protocols { default = { "http", "https", "tcp", "tls", "grpc",
                                                         "grpcs" } } },
        { config = {
            type = "record",
            fields = {
                { allow = { type = "array", elements = ADDRESS } },
                { deny = { type = "array", elements = ADDRESS } },
                { status = { type = "number", required = false } },
                { message = { type = "string", required = false } },
            },
        } },
    },
    entity_checks = {
        { at_least_one_of = { "config.allow", "config.deny" } },
    },
}
