-- response-transformer (Kong 3.9): edits the response's headers in
-- header_filter and the top-level fields of a JSON body in body_filter
-- (the body is held back until its last chunk, only when a JSON edit is
-- configured and the response says it is JSON). A gzip-encoded body is
-- inflated for the edit and deflated again; a body that is not JSON, or
-- not gzip when it says so, goes out as it came.
local transform = require("kong.plugins.response-transformer.transform")
local gzip = require("kong.tools.gzip")

local kong = kong
local lower = string.lower

local plan_of = transform.plan

local ResponseTransformerHandler = {
    PRIORITY = 800,
    VERSION = "3.9.1",
}

function ResponseTransformerHandler:header_filter(conf) -- luacheck: ignore 212
    transform.headers(plan_of(conf))
end

local function is_gzip(encoding)
    return encoding ~= nil and lower(encoding) == "gzip"
end

function ResponseTransformerHandler:body_filter(conf) -- luacheck: ignore 212
    local plan = plan_of(conf)
    if not plan.json or not transform.is_json_body(kong.response.get_header("Content-Type")) then
        return
    end
    local body = kong.response.get_raw_body()
    if not body then
        return
    end
    local gzipped = is_gzip(kong.response.get_header("Content-Encoding"))
    if gzipped then
        local inflated, err = gzip.inflate_gzip(body)
        if not inflated then
            kong.log.err("failed to inflate gzipped body: ", err)
            return
        end
        body = inflated
    end
    local out, err = transform.json_body(plan, body)
    if not out then
        kong.log.warn("body transform failed: ", err)
        return
    end
    if gzipped then
        local deflated, derr = gzip.deflate_gzip(out)
        if not deflated then
            kong.log.err("failed to deflate gzipped body: ", derr)
            return
        end
        out = deflated
    end
    kong.response.set_raw_body(out)
end

return ResponseTransformerHandler
