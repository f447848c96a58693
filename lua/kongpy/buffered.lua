-- Kong's buffered proxying and its response phase. When a plugin that
-- applies to the request has a `response` handler (or one asked for it with
-- kong.service.request.enable_buffering()), the access phase fetches the
-- upstream's whole answer through an internal subrequest that shares the
-- request's variables and ngx.ctx (so the balancer and the upstream
-- variables work unchanged), lets the response handlers read and change
-- status, headers and body, then sends the result itself.
local errors = require("kongpy.errors")
local runner = require("kongpy.runner")
local phase = require("kongpy.pdk.phase")
local request_id = require("kongpy.request_id").get

local ngx = ngx
local var = ngx.var
local header = ngx.header
local capture = ngx.location.capture
local read_body = ngx.req.read_body
local get_method = ngx.req.get_method
local http_version = ngx.req.http_version
local send_headers = ngx.send_headers
local print = ngx.print
local exit = ngx.exit
local log = ngx.log
local NOTICE = ngx.NOTICE

local pairs = pairs
local next = next
local running = coroutine.running
local lower = string.lower

local LOCATION = "/kongpy_buffered_proxy"

-- The methods a subrequest can carry; any other one is sent as POST and the
-- proxied request keeps the client's method (proxy_method $request_method).
local METHODS = {
    GET = ngx.HTTP_GET, HEAD = ngx.HTTP_HEAD, POST = ngx.HTTP_POST, PUT = ngx.HTTP_PUT,
    DELETE = ngx.HTTP_DELETE, OPTIONS = ngx.HTTP_OPTIONS, PATCH = ngx.HTTP_PATCH,
    TRACE = ngx.HTTP_TRACE, MKCOL = ngx.HTTP_MKCOL, COPY = ngx.HTTP_COPY,
    MOVE = ngx.HTTP_MOVE, PROPFIND = ngx.HTTP_PROPFIND, PROPPATCH = ngx.HTTP_PROPPATCH,
    LOCK = ngx.HTTP_LOCK, UNLOCK = ngx.HTTP_UNLOCK,
}

-- Not copied from the upstream's answer: hop-by-hop headers (this
-- connection's own are nginx's business).
local SKIP = {
    ["connection"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
    ["te"] = true, ["trailer"] = true, ["transfer-encoding"] = true, ["upgrade"] = true,
}

local _M = {}

local responding = phase.responding
local rewriting = phase.rewriting

-- Called as every request's access phase starts: a coroutine nginx reuses
-- may still be marked from a request whose response handler ended it
-- (kong.response.exit, an error) before the mark could be removed.
function _M.forget()
    if next(responding) ~= nil then
        responding[running()] = nil
    end
    if next(rewriting) ~= nil then
        rewriting[running()] = nil
    end
end

-- Whether this request is proxied buffered. As in Kong, HTTP/2 and protocol
-- upgrades cannot be: their response handlers do not run (a notice says so)
-- and the answer streams as usual.
function _M.wanted(ctx)
    if not ctx.buffered_proxying then
        return false
    end
    if http_version() < 2 and var.kongpy_upgrade == "" then
        return true
    end
    ctx.buffered_proxying = nil
    if http_version() >= 2 then
        log(NOTICE, "response phase was disabled because of HTTP/2 support")
    else
        log(NOTICE, "response phase was disabled because of protocol upgrade")
    end
    return false
end

-- header_filter of the subrequest: what the main request's own header filter
-- reports about the upstream (it never talked to one itself).
function _M.upstream_header_filter()
    local ctx = ngx.ctx
    ctx.kongpy_upstream_status = var.upstream_status
    ctx.kongpy_upstream_via = var.upstream_http_via
end

-- Proxies the request buffered, runs the response phase, sends the answer.
-- Called at the end of the access phase; never returns to it. As in Kong,
-- response handlers may change the status and headers, or replace the whole
-- answer with kong.response.exit(); kongpy also lets them read and replace
-- the body (kong.response.get_raw_body / set_raw_body).
-- `profile`: the upstream TLS profile whose location verifies the upstream's
-- certificate (kongpy.upstream_tls), false for none.
function _M.proxy(ctx, profile)
    read_body()
    local method = get_method()
    local location = profile and LOCATION .. "_" .. profile or LOCATION
    local res = capture(location, { method = METHODS[method] or ngx.HTTP_POST,
                                    always_forward_body = true, share_all_vars = true,
                                    ctx = ctx })
    if res.truncated and method ~= "HEAD" then
        -- the upstream broke off: what arrived is not an answer to pass on
        return errors.exit(502, errors.MESSAGES[502], request_id())
    end
    local status, headers, body = res.status, res.header, res.body
    ngx.status = status
    for name, value in pairs(headers) do
        if not SKIP[lower(name)] then
            header[name] = value
        end
    end
    ctx.buffered_status = status
    ctx.buffered_headers = headers
    ctx.buffered_body = body
    local co = running()
    responding[co] = true
    runner.run_collected("response", ctx)
    responding[co] = nil
    -- kong.response.set_raw_body in the response phase replaced it
    body = ctx.buffered_body or ""
    if method ~= "HEAD" then
        header["Content-Length"] = #body
    end
    send_headers()
    if body ~= "" and method ~= "HEAD" then
        print(body)
    end
    -- headers are out: 200 only ends the request (its status is sent)
    return exit(ngx.HTTP_OK)
end

return _M
