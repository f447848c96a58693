-- The `propagation` record of Kong 3.9's tracing plugins (typedefs.propagation).
local Schema = require("kong.db.schema")
local formats = require("kong.observability.tracing.propagation.formats")
local net = require("kongpy.schema.net")

local ipairs = ipairs

local INJECT = { "preserve" }
for _, f in ipairs(formats.INJECTORS) do
    INJECT[#INJECT + 1] = f
end

return Schema.define {
    type = "record",
    fields = {
        { extract = {
            description = "Header formats used to extract tracing context from incoming "
                .. "requests; the first one found is used. Empty: no extraction.",
            type = "array",
            elements = { type = "string", one_of = formats.EXTRACTORS },
        } },
        { clear = {
            description = "Header names to clear after context extraction.",
            type = "array",
            elements = { type = "string", custom_validator = net.header_name },
        } },
        { inject = {
            description = "Header formats used to inject tracing context; `preserve` "
                .. "uses the format of the incoming request.",
            type = "array",
            elements = { type = "string", one_of = INJECT },
        } },
        { default_format = {
            description = "The format injected by `preserve` when nothing was extracted.",
            type = "string", one_of = formats.INJECTORS, required = true,
        } },
    },
}
