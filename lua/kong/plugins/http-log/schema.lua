-- http-log (Kong 3.9): the log object sent to an HTTP endpoint through
-- kong.tools.queue.
local typedefs = require("kong.db.schema.typedefs")

local ngx = ngx
local pairs = pairs
local type = type
local find = string.find
local lower = string.lower
local match = string.match

local ERR_AUTH = "specifying both an 'Authorization' header and user info in "
                 .. "'http_endpoint' is not allowed"

-- as LuaSocket's url.parse finds user info: before an "@" of the authority
local function has_userinfo(url)
    local authority = match(url, "^[%a][%w+.-]*://([^/?#]*)")
    return authority ~= nil and find(authority, "@", 1, true) ~= nil
end

local function deprecated(field, message, old_default, description)
    return { [field] = {
        description = description,
        type = field == "flush_timeout" and "number" or "integer",
        deprecation = {
            message = "http-log: config." .. field .. " " .. message,
            removal_in_version = "4.0",
            old_default = old_default,
        },
    } }
end

return {
    name = "http-log",
    fields = {
        { protocols = typedefs.protocols },
        { config = {
            type = "record",
            fields = {
                { http_endpoint = typedefs.url({ required = true, encrypted = true,
                                                 referenceable = true }) },
                { method = {
                    description = "An optional method used to send data to the HTTP "
                        .. "server. Supported values are `POST` (default), `PUT`, and `PATCH`.",
                    type = "string", default = "POST", one_of = { "POST", "PUT", "PATCH" },
                } },
                { content_type = {
                    description = "Indicates the type of data sent. The only available "
                        .. "option is `application/json`.",
                    type = "string", default = "application/json",
                    one_of = { "application/json", "application/json; charset=utf-8" },
                } },
                { timeout = {
                    description = "An optional timeout in milliseconds when sending data "
                        .. "to the upstream server.",
                    type = "number", default = 10000,
                } },
                { keepalive = {
                    description = "An optional value in milliseconds that defines how "
                        .. "long an idle connection will live before being closed.",
                    type = "number", default = 60000,
                } },
                deprecated("retry_count",
                           "no longer works, please use config.queue.max_retry_time instead",
                           10, "Number of times to retry when sending data to the "
                               .. "upstream server."),
                deprecated("queue_size",
                           "is deprecated, please use config.queue.max_batch_size instead",
                           1, "Maximum number of log entries to be sent on each message "
                              .. "to the upstream server."),
                deprecated("flush_timeout", "is deprecated, please use "
                                            .. "config.queue.max_coalescing_delay instead",
                           2, "Optional time in seconds. If `queue_size` > 1, this is the "
                              .. "max idle time before sending a log with less than "
                              .. "`queue_size` records."),
                { headers = {
                    description = "An optional table of headers included in the HTTP "
                        .. "message to the upstream server. Values are indexed by header "
                        .. "name, and each header name accepts a single string.",
                    type = "map",
                    keys = typedefs.header_name {
                        match_none = {
                            { pattern = "^[Hh][Oo][Ss][Tt]$",
                              err = "cannot contain 'Host' header" },
                            -- Kong's pattern, "[nn]" included: "LENGTH" in
                            -- capitals passes, as it does in Kong
                            { pattern = "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][nn][Gg][Tt][Hh]$",
                              err = "cannot contain 'Content-Length' header" },
                            { pattern = "^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Tt][Yy][Pp][Ee]$",
                              err = "cannot contain 'Content-Type' header" },
                        },
                    },
                    values = { type = "string", referenceable = true },
                } },
                { queue = typedefs.queue },
                { custom_fields_by_lua = typedefs.lua_code },
            },
            custom_validator = function(config)
                local headers = config.headers
                if has_userinfo(config.http_endpoint) and type(headers) == "table"
                   and headers ~= ngx.null then
                    for name in pairs(headers) do
                        if lower(name) == "authorization" then
                            return false, ERR_AUTH
                        end
                    end
                end
                return true
            end,
        } },
    },
}
