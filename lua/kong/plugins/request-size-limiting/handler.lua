-- request-size-limiting (Kong 3.9): refuses bodies above a limit, from the
-- Content-Length header when valid, otherwise by reading the body.
local kong = require("kongpy.pdk")

local type = type
local tonumber = tonumber
local lower = string.lower
local match = string.match

local request = kong.request

local ERR_TOO_LARGE = "Request size limit exceeded"
local ERR_LENGTH = "A valid Content-Length header is required"

local FACTOR = {
    bytes = 1,
    kilobytes = 1024,
    megabytes = 1048576,
}

local RequestSizeLimitingHandler = {
    PRIORITY = 951,
    VERSION = "3.9.1",
}

local function expects_continue(expect)
    return type(expect) == "string" and match(lower(expect), "^%s*(.-)%s*$") == "100-continue"
end

local function check_size(conf, length, headers)
    if length > conf.allowed_payload_size * FACTOR[conf.size_unit] then
        local status = expects_continue(headers["expect"]) and 417 or 413
        return kong.response.error(status, ERR_TOO_LARGE)
    end
end

function RequestSizeLimitingHandler:access(conf)
    local headers = request.get_headers()
    local cl = tonumber(headers["content-length"])
    if cl then
        return check_size(conf, cl, headers)
    end
    if conf.require_content_length and headers["transfer-encoding"] ~= "chunked" then
        return kong.response.error(411, ERR_LENGTH)
    end
    local size, err = request.get_body_size()
    if not size then
        kong.log.warn(err)
        return
    end
    return check_size(conf, size, headers)
end

return RequestSizeLimitingHandler
