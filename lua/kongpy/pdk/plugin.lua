-- kong.plugin: the plugin instance whose handler is running (nil outside
-- plugin code; Kong checks no phase here either).
local current = require("kongpy.pdk.ctx")

local _M = {}

function _M.get_id()
    local inst = current.running()
    return inst and inst.id
end

return _M
