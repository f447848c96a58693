-- kong.log: the error log, one function per level.
local ngx = ngx
local log = ngx.log

local _M = {}

for name, level in pairs({
    err = ngx.ERR, warn = ngx.WARN, notice = ngx.NOTICE, info = ngx.INFO, debug = ngx.DEBUG,
    crit = ngx.CRIT, alert = ngx.ALERT,
}) do
    _M[name] = function(...)
        return log(level, ...)
    end
end

return _M
