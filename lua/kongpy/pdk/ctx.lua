-- kong.ctx: per-request tables. `shared` is seen by every plugin of a request.
local ngx = ngx
local setmetatable = setmetatable

local _M = {}

return setmetatable(_M, {
    __index = function(_, key)
        if key == "shared" then
            local ctx = ngx.ctx
            local shared = ctx.kongpy_shared
            if not shared then
                shared = {}
                ctx.kongpy_shared = shared
            end
            return shared
        end
    end,
})
