-- proxy-cache's purges, asked for by the Admin API (through the node's
-- control socket: `control`) or by another node (Kong's cluster event
-- "proxy-cache:purge", "<plugin id>:<cache key or nil>": `apply`).
local cjson = require("cjson.safe")
local storage = require("kong.plugins.proxy-cache.storage")

local kong = require("kongpy.pdk")
local ipairs = ipairs
local type = type
local match = string.match

local _M = {}

local ERR_REQUEST = "invalid proxy-cache request: expected {\"dicts\": [...], \"key\": ...}"

-- another node purged: find the instance's dictionary in this node's
-- configuration
function _M.apply(data)
    local plugin_id, key = match(data or "", "^([^:]+):(.*)$")
    local plugin = plugin_id and kong.db.plugins:select({ id = plugin_id })
    if not (plugin and plugin.config and plugin.config.memory) then
        kong.log.err("proxy-cache: cannot purge '", data, "': no such plugin")
        return
    end
    local dict, err = storage.dict_of(plugin.config.memory.dictionary_name)
    if not dict then
        kong.log.err(err)
        return
    end
    if key == "nil" then
        storage.flush(dict)
    else
        storage.purge(dict, key)
    end
end

-- Each operation takes the dictionaries of the instances concerned, in
-- order: `flush` empties them all; `fetch` and `delete` act on the first
-- holding `key`. Returns status, answer.
local OPS = {
    flush = function(dicts)
        for i = 1, #dicts do
            storage.flush(dicts[i])
        end
        return 200, {}
    end,
    fetch = function(dicts, names, key)
        for i = 1, #dicts do
            local obj, err = storage.object(dicts[i], key)
            if obj then
                return 200, { dict = names[i], entry = obj }
            elseif err ~= storage.ERR_NOT_FOUND then
                return 500, { message = err }
            end
        end
        return 404, {}
    end,
    delete = function(dicts, names, key)
        for i = 1, #dicts do
            if dicts[i]:get(key) ~= nil then
                storage.purge(dicts[i], key)
                return 200, { dict = names[i] }
            end
        end
        return 404, {}
    end,
}

function _M.control(op, body)
    local handler = OPS[op]
    local doc = body and cjson.decode(body)
    if not handler or type(doc) ~= "table" or type(doc.dicts) ~= "table" then
        return 400, { message = ERR_REQUEST }
    end
    local dicts = {}
    for i, name in ipairs(doc.dicts) do
        if type(name) ~= "string" then
            return 400, { message = ERR_REQUEST }
        end
        local dict, err = storage.dict_of(name)
        if not dict then
            return 500, { message = err }
        end
        dicts[i] = dict
    end
    if op ~= "flush" and type(doc.key) ~= "string" then
        return 400, { message = ERR_REQUEST }
    end
    return handler(dicts, doc.dicts, doc.key)
end

return _M
