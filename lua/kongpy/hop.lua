-- Hop-by-hop headers Kong strips (kong/runloop/handler.lua): the request
-- headers the client's Connection names, and on the way back the response
-- headers the upstream's Connection names, an Upgrade the client did not
-- ask for and a Trailer announcement to a client that did not send
-- "TE: trailers". Proxy, Proxy-Connection, Keep-Alive, TE and Upgrade of
-- the request are proxy_set_header work (templates/macros.j2); nginx drops
-- the upstream's Keep-Alive itself. Both functions run only when an nginx
-- map saw something to do, so a plain request pays one variable read.
local ngx = ngx
local var = ngx.var
local header = ngx.header
local clear_header = ngx.req.clear_header

local gmatch = string.gmatch
local lower = string.lower

local _M = {}

-- Tokens nginx already handles (the proxy module's own Connection, the
-- Upgrade map); every other name in the list is cleared.
local HANDLED = { ["close"] = true, ["keep-alive"] = true, ["upgrade"] = true }

local function each_named(list, clear)
    for token in gmatch(lower(list), "[^,%s]+") do
        if not HANDLED[token] then
            clear(token)
        end
    end
end

local function clear_response_header(name)
    header[name] = nil
end

-- access: `connection` is the client's Connection header, not a plain
-- keep-alive/close (nginx_kongpy.conf.j2's $kongpy_request_hop).
function _M.clear_request(connection)
    each_named(connection, clear_header)
end

-- header_filter of a proxied answer whose Connection, Upgrade or Trailer
-- header is present and not a plain keep-alive/close ($kongpy_response_hop).
function _M.clear_response()
    local connection = var.upstream_http_connection
    if connection then
        each_named(connection, clear_response_header)
    end
    local upgrade = var.upstream_http_upgrade
    if upgrade and lower(upgrade) ~= var.kongpy_upgrade then
        header["Upgrade"] = nil
    end
    if var.kongpy_te == "" and var.upstream_http_trailer then
        header["Trailer"] = nil
    end
end

return _M
