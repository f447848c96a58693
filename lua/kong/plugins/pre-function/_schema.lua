-- The configuration of pre-function and post-function (Kong 3.9): per phase,
-- an array of Lua snippets. The snippets are compiled, never run, here:
-- Kong's message for code that does not parse, and its untrusted_lua
-- message when the node loads no untrusted Lua at all (`untrusted_lua =
-- off`), so such a configuration is refused when it is given rather than
-- failing on every request.
local Schema = require("kong.db.schema")
local typedefs = require("kong.db.schema.typedefs")
local sandbox = require("kong.tools.sandbox")

local loadstring = loadstring
local next = next
local type = type

-- kongpy runs no certificate phase (docs/plugins.md): code given for it
-- would never run, so it is refused.
local ERR_CERTIFICATE = "kongpy does not run the certificate phase: "
                        .. "functions for it are not supported"

local PHASES = { "certificate", "rewrite", "access", "header_filter", "body_filter", "log" }

return function(plugin_name)
    local function validate_function(code)
        if not sandbox.configuration.enabled then
            return false, sandbox.configuration.err_msg
        end
        local _, err = loadstring(code)
        if err then
            return false, "error parsing " .. plugin_name .. ": " .. err
        end
        return true
    end

    local phase_functions = Schema.define {
        required = true,
        default = {},
        type = "array",
        elements = {
            type = "string",
            required = false,
            custom_validator = validate_function,
        },
    }

    local function no_certificate(value)
        if type(value) == "table" and next(value) ~= nil then
            return false, ERR_CERTIFICATE
        end
        return true
    end

    local fields = {}
    local at_least_one = {}
    for i, phase in ipairs(PHASES) do
        if phase == "certificate" then
            fields[i] = { [phase] = phase_functions { custom_validator = no_certificate } }
        else
            fields[i] = { [phase] = phase_functions }
        end
        at_least_one[i] = "config." .. phase
    end

    return {
        name = plugin_name,
        fields = {
            { consumer = typedefs.no_consumer },
            { protocols = typedefs.protocols },
            { config = { type = "record", fields = fields } },
        },
        entity_checks = {
            { at_least_one_of = at_least_one },
        },
    }
end
