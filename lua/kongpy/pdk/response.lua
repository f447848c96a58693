-- kong.response: the response sent to the client (Kong 3.9's functions and
-- phase checks). exit() and error() end the request with Kong's bodies;
-- a gRPC request (or a response typed application/grpc) gets Kong's
-- grpc-status and grpc-message headers instead of an error body.
local cjson = require("cjson.safe")
local resp = require("ngx.resp")
local errors = require("kongpy.errors")
local phase = require("kongpy.pdk.phase")
local checks = require("kongpy.pdk.checks")
local encode = require("kongpy.pdk.encode")
local request_id = require("kongpy.request_id").get

local ngx = ngx
local arg = ngx.arg
local header = ngx.header
local print = ngx.print
local exit = ngx.exit
local get_phase = ngx.get_phase
local get_resp_headers = ngx.resp.get_headers
local add_resp_header = resp.add_header
local get_req_headers = ngx.req.get_headers
local now = ngx.now
local req_start_time = ngx.req.start_time
local check = phase.check
local normalize = checks.normalize

local type = type
local error = error
local pairs = pairs
local concat = table.concat
local lower = string.lower
local format = string.format
local find = string.find
local floor = math.floor

local JSON = "application/json; charset=utf-8"
local HEADER_BODY_LOG = phase.new("response", "header_filter", "body_filter", "log", "error",
                                  "admin_api")
local REWRITE_ACCESS_HEADER = phase.new("rewrite", "access", "response", "header_filter",
                                        "error", "admin_api")
local BODY_FILTER_OR_RESPONSE = phase.new("response", "body_filter")
local ERR_SENT = "headers have already been sent"
local ERR_TE = "manually setting Transfer-Encoding. Ignored."
-- marks prepare_headers()' tables
local PREPARED = {}

local _M = {}

local function warn(msg)
    require("kongpy.pdk.log").warn(msg)
end

-- Only a 17-byte name can be Transfer-Encoding: most names skip lower().
local function is_te(name)
    if #name ~= 17 then
        return false
    end
    local l = lower(name)
    return l == "transfer-encoding" or l == "transfer_encoding"
end

local function not_sent()
    if ngx.headers_sent then
        error(ERR_SENT, 3)
    end
end

local function check_status(status, min)
    if type(status) ~= "number" then
        error("code must be a number", 3)
    elseif status < min or status > 599 then
        error(format("code must be a number between %u and %u", min, 599), 3)
    end
end

function _M.get_status()
    check("kong.response.get_status", HEADER_BODY_LOG)
    return ngx.status
end

function _M.get_headers(max_headers)
    check("kong.response.get_headers", HEADER_BODY_LOG)
    return get_resp_headers(checks.limit("max_headers", max_headers))
end

-- The first value of a response header (the upstream's or one set here).
function _M.get_header(name)
    check("kong.response.get_header", HEADER_BODY_LOG)
    if type(name) ~= "string" then
        error("header name must be a string", 2)
    end
    local v = header[name]
    if type(v) == "table" then
        return v[1]
    end
    return v
end

-- "error": nginx's error page answered; "exit": a plugin or the gateway
-- answered (kong.response.exit/error, no route...); "service": proxied;
-- "error" again for anything else.
-- get_source() for a known phase (kongpy's own; kong.log.serialize uses it)
function _M.source(ctx)
    if ctx.kongpy_unexpected then
        -- nginx's error page (Kong's KONG_UNEXPECTED): an upstream that
        -- failed every try, a request nginx refused
        return "error"
    elseif ctx.kongpy_exited then
        return "exit"
    elseif ctx.kongpy_proxied then
        return "service"
    end
    return "error"
end

function _M.get_source()
    check("kong.response.get_source", HEADER_BODY_LOG)
    return _M.source(ngx.ctx)
end

function _M.set_status(status)
    check("kong.response.set_status", REWRITE_ACCESS_HEADER)
    not_sent()
    check_status(status, 100)
    ngx.status = status
end

function _M.set_header(name, value)
    check("kong.response.set_header", REWRITE_ACCESS_HEADER)
    not_sent()
    checks.header(name, value)
    if is_te(name) then
        return warn(ERR_TE)
    end
    header[name] = normalize(value)
end

function _M.add_header(name, value)
    check("kong.response.add_header", REWRITE_ACCESS_HEADER)
    not_sent()
    checks.header(name, value)
    add_resp_header(name, normalize(value))
end

function _M.clear_header(name)
    check("kong.response.clear_header", REWRITE_ACCESS_HEADER)
    not_sent()
    if type(name) ~= "string" then
        error("header name must be a string", 2)
    end
    header[name] = nil
end

function _M.set_headers(headers)
    check("kong.response.set_headers", REWRITE_ACCESS_HEADER)
    not_sent()
    checks.headers(headers)
    for name, value in pairs(headers) do
        if is_te(name) then
            warn(ERR_TE)
        else
            header[name] = normalize(value)
        end
    end
end

-- body_filter: nil until the last chunk, then the whole body (the chunks
-- before it are held back from the client).
-- Beyond Kong's body_filter: in the response phase (buffered proxying) the
-- whole answer is at hand, and what set_raw_body gives is what is sent.
function _M.get_raw_body()
    check("kong.response.get_raw_body", BODY_FILTER_OR_RESPONSE)
    local ctx = ngx.ctx
    if phase.current() == "response" then
        return ctx.buffered_body or ""
    end
    local buf = ctx.kongpy_body_buffer
    local chunk, eof = arg[1], arg[2]
    if eof and not buf then
        return chunk
    end
    if type(chunk) == "string" and chunk ~= "" then
        if not buf then
            buf = {}
            ctx.kongpy_body_buffer = buf
        end
        buf[#buf + 1] = chunk
    end
    if eof then
        local body = buf and concat(buf) or ""
        ctx.kongpy_body_buffer = nil
        arg[1] = body
        return body
    end
    arg[1] = nil
    return nil
end

function _M.set_raw_body(body)
    check("kong.response.set_raw_body", BODY_FILTER_OR_RESPONSE)
    if type(body) ~= "string" then
        error("body must be a string", 2)
    end
    if phase.current() == "response" then
        ngx.ctx.buffered_body = body
        return
    end
    arg[1] = body == "" and "\n" or body
    arg[2] = true
    ngx.ctx.kongpy_body_buffer = nil
end

-- Whether a header named `name` gives the Content-Type or Content-Length
-- (added to what the caller found so far).
local function content_kind(name, has_type, has_length)
    local l = lower(name)
    if l == "content-type" or l == "content_type" then
        return true, has_length
    elseif l == "content-length" or l == "content_length" then
        return has_type, true
    end
    return has_type, has_length
end

-- Sets status and headers; returns whether Content-Type/-Length were given.
local function apply_headers(status, headers)
    ngx.status = status
    local has_type, has_length = false, false
    if headers then
        for name, value in pairs(headers) do
            if is_te(name) then
                warn(ERR_TE)
            else
                header[name] = normalize(value)
                has_type, has_length = content_kind(name, has_type, has_length)
            end
        end
    end
    return has_type, has_length
end

-- A prepared header set (prepare_headers) written without a loop for its
-- first twelve names: a loop that goes round a few times per request makes
-- LuaJIT give up the trace of the whole phase around it.
local function write_prepared(p)
    local names, values, n = p.names, p.values, p.n
    if n == 0 then return end
    header[names[1]] = values[1]
    if n == 1 then return end
    header[names[2]] = values[2]
    if n == 2 then return end
    header[names[3]] = values[3]
    if n == 3 then return end
    header[names[4]] = values[4]
    if n == 4 then return end
    header[names[5]] = values[5]
    if n == 5 then return end
    header[names[6]] = values[6]
    if n == 6 then return end
    header[names[7]] = values[7]
    if n == 7 then return end
    header[names[8]] = values[8]
    if n == 8 then return end
    header[names[9]] = values[9]
    if n == 9 then return end
    header[names[10]] = values[10]
    if n == 10 then return end
    header[names[11]] = values[11]
    if n == 11 then return end
    header[names[12]] = values[12]
    for i = 13, n do
        header[names[i]] = values[i]
    end
end

-- apply_headers() for a table of headers, or for prepare_headers()' set
local function apply(status, headers, prepared)
    if not prepared then
        return apply_headers(status, headers)
    end
    if prepared.te then
        warn(ERR_TE)
    end
    ngx.status = status
    write_prepared(prepared)
    return prepared.has_type, prepared.has_length
end

-- Whether the answer is gRPC, and whether its body is gRPC output (a
-- Content-Type of application/grpc* given): Kong's send().
local function grpc_kind()
    local rtype = header["Content-Type"]
    if type(rtype) == "table" then
        rtype = rtype[1]
    end
    if rtype then
        local is = find(rtype, errors.GRPC, 1, true) == 1
        return is, is
    end
    return errors.is_grpc_request(), false
end

-- `tbl`: a table body, sent as JSON (or as its message to gRPC clients).
-- Called in tail position: error level 2 names the plugin.
-- A plugin that answers with what the service answered before (proxy-cache's
-- hits) marks it as Kong's plugins do, ngx.ctx.KONG_PROXIED = true: the
-- answer then carries the proxied headers (upstream and proxy latency, Via)
-- rather than the response latency, as in Kong.
local function proxied_exit(ctx)
    if ctx.KONG_PROXIED and not ctx.kongpy_proxied then
        local t = now()
        ctx.kongpy_proxied = true
        ctx.kongpy_access_end = t
        ctx.kongpy_proxy_latency = floor((t - req_start_time()) * 1000 + 0.5)
    end
end

local function send(status, body, headers, tbl, prepared)
    local ctx = ngx.ctx
    ctx.kongpy_exited = true
    proxied_exit(ctx)
    local has_type, has_length = apply(status, headers, prepared)
    local is_grpc, grpc_output = grpc_kind()
    local code
    if is_grpc and not header["grpc-status"] then
        code = errors.grpc_status(status)
        header["grpc-status"] = code
    end
    local json = false
    if tbl then
        if is_grpc then
            if grpc_output then
                error("table body encoding with gRPC is not supported", 2)
            end
            body = tbl.message
            if type(body) ~= "string" then
                body = nil
                warn("body was removed because table body encoding with gRPC is not supported")
            end
        else
            local err
            body, err = encode.json(tbl)
            if not body then
                error("body encoding failed while flushing response: " .. err, 2)
            end
            json = true
        end
    end
    if json and not has_type then
        header["Content-Type"] = JSON
    end
    if body and is_grpc and not grpc_output then
        -- gRPC clients read the message from grpc-message, not a body
        header["Content-Length"] = 0
        header["grpc-message"] = body
        print()
        return exit(status)
    end
    if not has_length then
        header["Content-Length"] = body and #body or 0
    end
    if code and not header["grpc-message"] then
        header["grpc-message"] = errors.GRPC_MESSAGES[code]
    end
    if body then
        print(body)
    elseif is_grpc then
        print()
    end
    return exit(status)
end

-- In header_filter (Kong: only without a body) the status and headers change
-- and the response already on its way keeps its body.
local function in_header_filter(name, status, body, headers, prepared)
    if body ~= nil then
        error(name .. ": a body cannot be sent from the header_filter phase", 3)
    end
    ngx.ctx.kongpy_exited = true
    apply(status, headers, prepared)
end

local function check_headers(headers)
    if headers ~= nil then
        if type(headers) ~= "table" then
            error("headers must be a nil or table", 3)
        end
        checks.headers(headers)
    end
end

-- exit(status, body, headers): a table body is sent as JSON.
function _M.exit(status, body, headers)
    check("kong.response.exit", REWRITE_ACCESS_HEADER)
    not_sent()
    check_status(status, 100)
    local tb = type(body)
    if body ~= nil and tb ~= "string" and tb ~= "table" then
        error("body must be a nil, string or table", 2)
    end
    check_headers(headers)
    if get_phase() == "header_filter" then
        -- not a tail call: its errors name this function's caller
        in_header_filter("kong.response.exit", status, body, headers)
        return
    end
    if tb == "table" then
        return send(status, nil, headers, body)
    end
    return send(status, body, headers, nil)
end

-- kongpy's own, for a plugin that answers with the same headers many times
-- (proxy-cache's hits): the headers checked and normalised once, for
-- exit_prepared(). The table given is read now; later changes to it are not
-- seen. Raises as exit() would on a bad name or value.
function _M.prepare_headers(headers)
    if type(headers) ~= "table" then
        error("headers must be a table", 2)
    end
    local names, values, n = {}, {}, 0
    local has_type, has_length, te = false, false, false
    for name, value in pairs(headers) do
        -- raised at this function's caller
        checks.header(name, value)
        if is_te(name) then
            te = true
        else
            n = n + 1
            names[n], values[n] = name, normalize(value)
            has_type, has_length = content_kind(name, has_type, has_length)
        end
    end
    return { n = n, names = names, values = values, has_type = has_type,
             has_length = has_length, te = te, [PREPARED] = true }
end

-- exit() with a string body (or none) and prepare_headers()'s headers: the
-- same phases, checks, response and gRPC handling.
function _M.exit_prepared(status, body, prepared)
    check("kong.response.exit_prepared", REWRITE_ACCESS_HEADER)
    not_sent()
    check_status(status, 100)
    if body ~= nil and type(body) ~= "string" then
        error("body must be a nil or string", 2)
    end
    if type(prepared) ~= "table" or not prepared[PREPARED] then
        error("headers must come from kong.response.prepare_headers", 2)
    end
    if get_phase() == "header_filter" then
        -- not a tail call: its errors name this function's caller
        in_header_filter("kong.response.exit_prepared", status, body, nil, prepared)
        return
    end
    return send(status, body, nil, nil, prepared)
end

-- error(status, message, headers): Kong's {"message": ...} body, as JSON,
-- HTML, XML or text by the Content-Type given, else by the Accept header.
function _M.error(status, message, headers)
    check("kong.response.error", REWRITE_ACCESS_HEADER)
    not_sent()
    check_status(status, 400)
    if type(message) == "table" then
        local json, err = cjson.encode(message)
        if not json then
            error("could not JSON encode the error message: " .. err, 2)
        end
        message = json
    end
    if message ~= nil and type(message) ~= "string" then
        error("message must be a nil, a string or a table", 2)
    end
    check_headers(headers)
    local out = {}
    local given
    if headers then
        for k, v in pairs(headers) do
            out[k] = v
            local l = lower(k)
            if l == "content-type" or l == "content_type" then
                given = type(v) == "table" and v[1] or v
            end
        end
    end
    local ctype, body
    if given then
        ctype = errors.template_type(given)
    elseif errors.is_grpc_request() then
        -- no body: grpc-status and the code's name in grpc-message
        ctype = errors.GRPC
        out["Content-Type"] = ctype
    else
        ctype = errors.response_type(get_req_headers()["accept"])
        out["Content-Type"] = ctype
    end
    if ctype ~= errors.GRPC and given ~= errors.GRPC then
        local default = errors.MESSAGES[status]
                        or format("The upstream server responded with %d", status)
        body = errors.body(ctype, message or default, request_id())
    end
    if get_phase() == "header_filter" then
        in_header_filter("kong.response.error", status, nil, out)
        return
    end
    return send(status, body, out, nil)
end

return _M
