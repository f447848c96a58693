-- kong.router: the route and service the request matched.
local ngx = ngx

local _M = {}

function _M.get_route()
    return ngx.ctx.kongpy_route
end

function _M.get_service()
    local service = ngx.ctx.kongpy_service
    return service and service.raw
end

return _M
