-- Kong's kong.deprecation as plugin schemas call it:
-- deprecation("message", { after = "4.0" }). Warnings go through
-- kongpy.schema.deprecation, which logs each message once.
local raise = require("kongpy.schema.deprecation").raise

local setmetatable = setmetatable

local _M = { raise = raise }

-- Kong sets up its CLI or nginx logging here; ours needs no set-up.
function _M.init()
end

return setmetatable(_M, {
    __call = function(_, ...)
        return raise(...)
    end,
})
