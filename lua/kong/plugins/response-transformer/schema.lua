-- response-transformer's configuration (Kong 3.9): `name:value` entries
-- for response headers and top-level JSON body fields, `json_types` giving
-- the JSON type of each added, replaced or appended value.
local typedefs = require("kong.db.schema.typedefs")
local validate_header_name = require("kong.tools.http").validate_header_name

local format = string.format
local match = string.match
local tostring = tostring

local function validate_colon_headers(pair)
    local name, value = match(pair, "^([^:]+):*(.-)$")
    if validate_header_name(name) == nil then
        return nil, format("'%s' is not a valid header", tostring(name))
    end
    if validate_header_name(value) == nil then
        return nil, format("'%s' is not a valid header", tostring(value))
    end
    return true
end

local function array(elements, description)
    return { type = "array", default = {}, required = true, elements = elements,
             description = description }
end

local COLON = "^[^:]+:.*$"

local string_record = {
    type = "record",
    fields = {
        { json = array({ type = "string" }) },
        { headers = array({ type = "string" }) },
    },
}

local colon_string_record = {
    type = "record",
    fields = {
        { json = array({ type = "string", match = COLON }) },
        { json_types = array({ type = "string", one_of = { "boolean", "number", "string" } },
                             "List of JSON type names. Specify the types of the JSON values "
                             .. "returned when appending\nJSON properties. Each string element "
                             .. "can be one of: boolean, number, or string.") },
        { headers = array({ type = "string", match = COLON }) },
    },
}

local rename_record = {
    type = "record",
    fields = {
        { json = array({ type = "string", match = COLON }) },
        { headers = array({ type = "string", match = COLON,
                            custom_validator = validate_colon_headers }) },
    },
}

return {
    name = "response-transformer",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { remove = string_record },
                { rename = rename_record },
                { replace = colon_string_record },
                { add = colon_string_record },
                { append = colon_string_record },
            },
        } },
    },
}
