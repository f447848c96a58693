-- $upstream_connect_time per try, for the spans of the balancer tries
-- (kongpy.instrumentation, the zipkin plugin): seconds times `scale`, 0 for
-- a try that did not connect (nginx writes "-").
local gmatch = string.gmatch
local gsub = string.gsub
local tonumber = tonumber

return function(var, scale)
    local list, i = {}, 0
    for v in gmatch(var.upstream_connect_time or "", "[^,]+") do
        i = i + 1
        list[i] = (tonumber((gsub(v, "^%s+", ""))) or 0) * scale
    end
    return list
end
