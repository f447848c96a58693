-- kong.node: this node's identity.
local settings = require("kongpy.settings")

local io_open = io.open
local gsub = string.gsub

local _M = {}

local hostname

function _M.get_id()
    return settings.node_id
end

-- Read once per worker: the kernel's host name, as Kong reports it.
function _M.get_hostname()
    if not hostname then
        local f = io_open("/proc/sys/kernel/hostname", "r")
        local name = f and f:read("*l")
        if f then
            f:close()
        end
        hostname = name and gsub(name, "%s+$", "") or "localhost"
    end
    return hostname
end

return _M
