-- request-transformer (Kong 3.9): edits the request before it is proxied:
-- its uri, method, headers, querystring and body (JSON, urlencoded,
-- multipart), with values that may be templates (template.lua).
local access = require("kong.plugins.request-transformer.access")

local RequestTransformerHandler = {
    PRIORITY = 801,
    VERSION = "3.9.1",
}

function RequestTransformerHandler:access(conf) -- luacheck: ignore 212
    access.execute(conf)
end

return RequestTransformerHandler
