-- Gateway-generated error responses: Kong's messages, templates and content
-- negotiation (Accept for router/gateway errors; Accept, then Content-Type,
-- then error_default_type for nginx-level error pages).
local settings = require("kongpy.settings")

local ngx = ngx
local var = ngx.var
local http_version = ngx.req.http_version
local re_match = ngx.re.match
local header = ngx.header
local print = ngx.print
local exit = ngx.exit
local now_ms = require("kong.tools.time").now_ms
local req_start_time = ngx.req.start_time
local get_headers = ngx.req.get_headers

local type = type
local pairs = pairs
local tonumber = tonumber
local format = string.format
local gmatch = string.gmatch
local lower = string.lower
local match = string.match
local find = string.find
local floor = math.floor
local concat = table.concat

local _M = {}

local JSON = "application/json; charset=utf-8"
local HTML = "text/html; charset=utf-8"
local PLAIN = "text/plain; charset=utf-8"
local XML = "application/xml; charset=utf-8"

local MIME = {
    ["application/json"] = JSON,
    ["text/html"] = HTML,
    ["text/plain"] = PLAIN,
    ["application/xml"] = XML,
    ["application/*"] = JSON,
    ["text/*"] = PLAIN,
    ["*/*"] = JSON,
}

local TEMPLATES = {
    [JSON] = '{\n  "message":"%s",\n  "request_id":"%s"\n}',
    [HTML] = '<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n'
             .. '    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n'
             .. '    <p>%s.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n',
    [PLAIN] = "%s\nrequest_id: %s\n",
    [XML] = '<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>%s</message>\n'
            .. '  <requestid>%s</requestid>\n</error>\n',
}

-- Kong's messages per status (kong.response.error's defaults).
local MESSAGES = {
    [400] = "Bad request",
    [401] = "Unauthorized",
    [402] = "Payment required",
    [403] = "Forbidden",
    [404] = "Not found",
    [405] = "Method not allowed",
    [406] = "Not acceptable",
    [407] = "Proxy authentication required",
    [408] = "Request timeout",
    [409] = "Conflict",
    [410] = "Gone",
    [411] = "Length required",
    [412] = "Precondition failed",
    [413] = "Payload too large",
    [414] = "URI too long",
    [415] = "Unsupported media type",
    [416] = "Range not satisfiable",
    [417] = "Expectation failed",
    [418] = "I'm a teapot",
    [421] = "Misdirected request",
    [422] = "Unprocessable entity",
    [423] = "Locked",
    [424] = "Failed dependency",
    [425] = "Too early",
    [426] = "Upgrade required",
    [428] = "Precondition required",
    [429] = "Too many requests",
    [431] = "Request header fields too large",
    [451] = "Unavailable for legal reasons",
    [494] = "Request header or cookie too large",
    [500] = "An unexpected error occurred",
    [501] = "Not implemented",
    [502] = "An invalid response was received from the upstream server",
    [503] = "The upstream server is currently unavailable",
    [504] = "The upstream server is timing out",
    [505] = "HTTP version not supported",
    [506] = "Variant also negotiates",
    [507] = "Insufficient storage",
    [508] = "Loop detected",
    [510] = "Not extended",
    [511] = "Network authentication required",
}
_M.MESSAGES = MESSAGES

-- gRPC answers (Kong's PDK): the HTTP status stays, grpc-status carries
-- its gRPC code (a status the table lacks: by its class) and grpc-message
-- the message; the body is empty.
local GRPC = "application/grpc"
local HTTP_TO_GRPC = {
    [200] = 0, [400] = 3, [401] = 16, [403] = 7, [404] = 5, [409] = 6,
    [429] = 8, [499] = 1, [500] = 13, [501] = 12, [503] = 14, [504] = 4,
}
local GRPC_MESSAGES = {
    [0] = "OK", [1] = "Canceled", [2] = "Unknown", [3] = "InvalidArgument",
    [4] = "DeadlineExceeded", [5] = "NotFound", [6] = "AlreadyExists",
    [7] = "PermissionDenied", [8] = "ResourceExhausted", [9] = "FailedPrecondition",
    [10] = "Aborted", [11] = "OutOfRange", [12] = "Unimplemented", [13] = "Internal",
    [14] = "Unavailable", [15] = "DataLoss", [16] = "Unauthenticated",
}
_M.GRPC = GRPC
_M.GRPC_MESSAGES = GRPC_MESSAGES

function _M.grpc_status(status)
    local code = HTTP_TO_GRPC[status]
    if code then
        return code
    elseif status >= 500 and status <= 599 then
        return 13
    elseif status >= 400 and status <= 499 then
        return 3
    elseif status >= 200 and status <= 299 then
        return 0
    end
    return 2
end

-- Kong's test: an application/grpc* request over HTTP/2.
local function is_grpc_request()
    local ctype = var.content_type
    return ctype ~= nil and find(ctype, GRPC, 1, true) == 1 and http_version() == 2
end
_M.is_grpc_request = is_grpc_request

-- A gRPC request's error: grpc-status (unless `extra_headers` has one),
-- grpc-message (the code's name unless `message`), no body.
local function grpc_exit(status, message, extra_headers)
    ngx.ctx.kongpy_exited = true
    ngx.status = status
    if extra_headers then
        for k, v in pairs(extra_headers) do header[k] = v end
    end
    header["Content-Type"] = GRPC
    header["Content-Length"] = 0
    local code = tonumber(header["grpc-status"])
    if not code then
        code = _M.grpc_status(status)
        header["grpc-status"] = code
    end
    header["grpc-message"] = message or GRPC_MESSAGES[code]
    print()
    return exit(status)
end
_M.grpc_exit = grpc_exit

local ACCEPT_RX = [[^((?:[a-z0-9][a-z0-9-!#$&^_+.]+|\*)/(?:[a-z0-9][a-z0-9-!#$&^_+.]+|\*))]]
                  .. [[(?:\s*;\s*q\s*=\s*(1(?:\.0{0,3})?|0(?:\.\d{0,3})?)|\s*;[^;]*)*$]]

-- Highest q wins, first listed wins ties; unknown types keep the default.
function _M.response_type(accept)
    if type(accept) == "table" then
        accept = concat(accept, ",")
    end
    local ctype = JSON
    if not accept then
        return ctype
    end
    local best = 0
    for item in gmatch(accept, "[^,]+") do
        item = match(item, "^%s*(.-)%s*$")
        local m = re_match(item, ACCEPT_RX, "joi")
        if m then
            local q = tonumber(m[2]) or 1
            if q > best then
                best = q
                ctype = MIME[lower(m[1])] or ctype
            end
        end
    end
    return ctype
end

local function json_escape(s)
    return (s:gsub('[%c"\\]', function(c)
        if c == '"' then return '\\"' end
        if c == "\\" then return "\\\\" end
        return format("\\u%04x", c:byte())
    end))
end

-- The template for a Content-Type a caller chose (kong.response.error's
-- headers): by media type, JSON when none matches.
function _M.template_type(ctype)
    ctype = lower(ctype)
    if find(ctype, "html", 1, true) then
        return HTML
    elseif find(ctype, "xml", 1, true) then
        return XML
    elseif find(ctype, "text/plain", 1, true) then
        return PLAIN
    end
    return JSON
end

function _M.body(ctype, message, request_id)
    if ctype == JSON then
        message = json_escape(message)
    end
    return format(TEMPLATES[ctype] or TEMPLATES[JSON], message, request_id or "")
end

local function latency_ms()
    return floor(now_ms() - req_start_time() * 1000 + 0.5)
end
_M.latency_ms = latency_ms

-- The two latencies of a request whose upstream was tried and failed (the
-- error page of its 502/504): from ngx.ctx when the access phase stashed it
-- (kongpy.ctxref), else from what nginx measured of the tries.
local function tried_latencies()
    local ctx = ngx.ctx
    local access_end = ctx.kongpy_access_end
    if access_end then
        return floor(now_ms() - access_end * 1000 + 0.5), ctx.kongpy_proxy_latency
    end
    local upstream = 0
    for t in gmatch(ngx.var.upstream_response_time or "", "[%d.]+") do
        upstream = upstream + (tonumber(t) or 0)
    end
    upstream = floor(upstream * 1000 + 0.5)
    local total = latency_ms()
    return upstream, total > upstream and total - upstream or 0
end

-- Gateway headers for responses we generate outside the proxied location
-- (the proxy location's header_filter adds them otherwise). As Kong, an
-- answer after an upstream was tried reports the upstream and proxy
-- latencies, any other the response latency.
function _M.gateway_headers(request_id)
    local enabled = settings.enabled_headers
    if enabled["server"] then
        header["Server"] = settings.server_header
    end
    if ngx.ctx.kongpy_proxied or ngx.var.upstream_addr then
        local upstream, proxy = tried_latencies()
        if enabled["x-kong-upstream-latency"] then
            header["X-Kong-Upstream-Latency"] = upstream
        end
        if enabled["x-kong-proxy-latency"] then
            header["X-Kong-Proxy-Latency"] = proxy
        end
    elseif enabled["x-kong-response-latency"] then
        header["X-Kong-Response-Latency"] = latency_ms()
    end
    if enabled["x-kong-request-id"] and request_id then
        header["X-Kong-Request-Id"] = request_id
    end
end

-- kong.response.error: negotiated on Accept only, JSON by default; a gRPC
-- request gets a gRPC error (its message is the code's name, as Kong's).
function _M.exit(status, message, request_id, extra_headers)
    if is_grpc_request() then
        return grpc_exit(status, nil, extra_headers)
    end
    local ctype = _M.response_type(get_headers()["accept"])
    local body = _M.body(ctype, message or MESSAGES[status] or "", request_id)
    ngx.ctx.kongpy_exited = true
    ngx.status = status
    header["Content-Type"] = ctype
    header["Content-Length"] = #body
    if extra_headers then
        for k, v in pairs(extra_headers) do header[k] = v end
    end
    print(body)
    return exit(status)
end

-- The nginx error_page handler.
function _M.error_page(request_id)
    local status = ngx.status
    local headers = get_headers()
    local accept = headers["accept"] or headers["content-type"] or settings.error_default_type
    local message = MESSAGES[status] or format("The upstream server responded with %d", status)
    if type(accept) == "string" and find(accept, GRPC, 1, true) == 1 and is_grpc_request() then
        -- Kong: kong.response.exit(status, { message = ... }) for gRPC
        _M.gateway_headers(request_id)
        return grpc_exit(status, message)
    end
    local ctype = _M.response_type(accept)
    if status == 494 then
        status = 400
    end
    local body = _M.body(ctype, message, request_id)
    ngx.status = status
    header["Content-Type"] = ctype
    header["Content-Length"] = #body
    _M.gateway_headers(request_id)
    print(body)
    return exit(status)
end

return _M
