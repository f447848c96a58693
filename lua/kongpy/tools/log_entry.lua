-- What the logging plugins (file-log, http-log, ...) write: Kong's log
-- object (kong.log.serialize) after the instance's custom_fields_by_lua,
-- each expression run in the node's sandbox (untrusted_lua) with `kong` and
-- `ngx` in reach, as Kong's loggers do in their log handler.
local cjson = require("cjson.safe")

local ngx = ngx
local pairs = pairs
local require = require

local _M = {}

local sandbox_opts

function _M.set_custom_fields(conf)
    local fields = conf.custom_fields_by_lua
    if not fields then
        return
    end
    -- loaded on first use: most instances have no custom fields
    local sandbox = require("kong.tools.sandbox").sandbox
    sandbox_opts = sandbox_opts or { env = { kong = kong, ngx = ngx } }
    local set_serialize_value = kong.log.set_serialize_value
    for key, expression in pairs(fields) do
        set_serialize_value(key, sandbox(expression, sandbox_opts)())
    end
end

-- The log object of the request as a JSON string, or nil, err.
function _M.json(conf)
    _M.set_custom_fields(conf)
    return cjson.encode(kong.log.serialize())
end

return _M
