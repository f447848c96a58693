-- What the logging plugins (file-log, http-log, ...) write: Kong's log
-- object (kong.log.serialize) after the instance's custom_fields_by_lua,
-- each expression run in the node's sandbox (untrusted_lua) with `kong` and
-- `ngx` in reach, as Kong's loggers do in their log handler.
local buffer = require("string.buffer")
local json = require("kongpy.tools.log_json")

local ngx = ngx
local pairs = pairs
local require = require
local type = type
local concat = table.concat

local _M = {}

local batch = buffer.new()

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
    return json.encode(kong.log.serialize())
end

-- The log object of the request after the custom fields, for a queue that
-- encodes it later with encode_batch(): kong.log.serialize()'s table stays
-- unchanged once handed out (later set_serialize_value() calls give a new one).
function _M.table(conf)
    _M.set_custom_fields(conf)
    return kong.log.serialize()
end

-- A batch of entries (log objects or their JSON strings) as one JSON
-- array, or the entry itself when `single`. Encoded into one buffer, one
-- string per batch: every string LuaJIT makes is hashed and interned, and
-- log entries of one route differ in so few bytes that they share hash
-- chains, which made each new entry compare itself with every entry still
-- in memory. An entry that cannot be encoded is left out (reported through
-- `report(err)`); nil when none is left.
function _M.encode_batch(entries, single, report)
    if type(entries[1]) == "string" then
        return single and entries[1] or "[" .. concat(entries, ",") .. "]"
    end
    if single then
        local out, err = json.encode(entries[1])
        if not out then
            report(err)
        end
        return out
    end
    batch:reset()
    batch:put("[")
    local n = 0
    for i = 1, #entries do
        local ok, err = json.put(batch, entries[i], n > 0 and "," or nil)
        if ok then
            n = n + 1
        else
            report(err)
        end
    end
    if n == 0 then
        return nil
    end
    batch:put("]")
    return batch:tostring()
end

return _M
