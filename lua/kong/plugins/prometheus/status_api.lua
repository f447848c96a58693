-- Kong's status_api.lua contract: GET /metrics on the Status API (and, over
-- the node's control socket, on the Admin API).
local kong = require("kongpy.pdk")
local collect = require("kong.plugins.prometheus.collect")

local ngx = ngx

return {
    ["/metrics"] = {
        GET = function()
            ngx.header["Content-Type"] = "text/plain; charset=UTF-8"
            ngx.print(collect.pieces(kong.node.is_datastore_reachable()))
            return ngx.exit(200)
        end,
    },
}
