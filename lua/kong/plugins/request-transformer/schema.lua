-- request-transformer's configuration (Kong 3.9): `name:value` entries per
-- action and part; values of querystring and body entries must compile as
-- templates, header names must be header names (and so must a rename's
-- new name).
local typedefs = require("kong.db.schema.typedefs")
local template = require("kong.plugins.request-transformer.template")
local validate_header_name = require("kong.tools.http").validate_header_name

local format = string.format
local match = string.match
local tostring = tostring

-- entries must have colons to set the key and value apart
local function check_for_value(entry)
    local name, value = match(entry, "^([^:]+):*(.-)$")
    if not name or not value or value == "" then
        return false, "key '" .. tostring(name or "") .. "' has no value"
    end
    local tpl, err = template.compile(value)
    if tpl == nil then
        return false, "value '" .. value .. "' is not in supported format, error:" .. err
    end
    return true
end

local function validate_headers(pair, validate_value)
    local name, value = match(pair, "^([^:]+):*(.-)$")
    if validate_header_name(name) == nil then
        return nil, format("'%s' is not a valid header", tostring(name))
    end
    if validate_value and validate_header_name(value) == nil then
        return nil, format("'%s' is not a valid header", tostring(value))
    end
    return true
end

local function validate_header_names(pair)
    return validate_headers(pair)
end

local function validate_colon_headers(pair)
    return validate_headers(pair, true)
end

local function array(elements)
    return { type = "array", default = {}, required = true, elements = elements }
end

local COLON = "^[^:]+:.*$"

local function record(body, headers, querystring, uri)
    local fields = {
        { body = array(body) },
        { headers = array(headers) },
        { querystring = array(querystring) },
    }
    if uri then
        fields[#fields + 1] = { uri = { type = "string" } }
    end
    return { type = "record", fields = fields }
end

local colon_strings = { type = "string", custom_validator = check_for_value }
local colon_header_values = { type = "string", match = COLON,
                              custom_validator = validate_header_names }

return {
    name = "request-transformer",
    fields = {
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                { http_method = typedefs.http_method },
                { remove = record({ type = "string" },
                                  { type = "string", custom_validator = validate_header_names },
                                  { type = "string" }) },
                { rename = record(colon_strings,
                                  { type = "string", match = COLON,
                                    custom_validator = validate_colon_headers },
                                  colon_strings) },
                { replace = record(colon_strings, colon_header_values, colon_strings, true) },
                { add = record(colon_strings, colon_header_values, colon_strings) },
                { append = record(colon_strings, colon_header_values, colon_strings) },
            },
        } },
    },
}
