-- kong.ip: whether an address is in trusted_ips (the settings file lists the
-- networks, normalised by the control plane; compiled once per worker).
local settings = require("kongpy.settings")
local cidr = require("kongpy.tools.cidr")

local ipairs = ipairs
local type = type

local UNIX = "unix:"

local _M = {}

local matcher, unix_trusted

local function compile()
    local list = {}
    unix_trusted = false
    for _, entry in ipairs(settings.trusted_ips) do
        if entry == UNIX then
            unix_trusted = true
        else
            list[#list + 1] = entry
        end
    end
    -- render only writes entries that parse; an empty list trusts nobody
    matcher = cidr.compile(list) or cidr.compile({})
end

function _M.is_trusted(address)
    if not matcher then
        compile()
    end
    if address == UNIX then
        return unix_trusted
    end
    if type(address) ~= "string" then
        return false
    end
    return cidr.contains(matcher, address) == true
end

return _M
