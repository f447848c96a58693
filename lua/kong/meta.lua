-- kong.meta as Kong plugins read it (`VERSION = require("kong.meta").version`):
-- the Kong release whose behaviour kongpy implements (kongpy.KONG_VERSION).
local MAJOR, MINOR, PATCH = 3, 9, 1

local version = MAJOR .. "." .. MINOR .. "." .. PATCH

return {
    _NAME = "kong",
    _VERSION = version,
    version = version,
    core_version = version,
    _VERSION_TABLE = setmetatable({ major = MAJOR, minor = MINOR, patch = PATCH }, {
        __tostring = function()
            return version
        end,
    }),
    _SERVER_TOKENS = "kong/" .. version,
    _DEPENDENCIES = { nginx = { "1.22" } },
}
