-- kong.router: the route and service the request matched, as Kong's DAO
-- returns them (unset fields left out rather than JSON nulls).
local store = require("kongpy.pdk.store")
local phase = require("kongpy.pdk.phase")

local ngx = ngx
local check = phase.check
local clean = store.clean

local AFTER_ROUTING = phase.new("access", "header_filter", "body_filter", "log")

local _M = {}

function _M.get_route()
    check("kong.router.get_route", AFTER_ROUTING)
    return clean(ngx.ctx.kongpy_route)
end

function _M.get_service()
    check("kong.router.get_service", AFTER_ROUTING)
    local service = ngx.ctx.kongpy_service
    return service and clean(service.raw)
end

return _M
