-- kong.service.request: changes to the request sent upstream.
local cjson = require("cjson.safe")

local ngx = ngx
local var = ngx.var
local req = ngx.req
local encode_args = ngx.encode_args

local find = string.find
local sub = string.sub
local type = type

local _M = { request = {} }
local request = _M.request

function request.set_header(name, value)
    req.set_header(name, value)
end

function request.add_header(name, value)
    local cur = req.get_headers()[name]
    if cur == nil then
        return req.set_header(name, value)
    end
    if type(cur) ~= "table" then
        cur = { cur }
    end
    cur[#cur + 1] = value
    req.set_header(name, cur)
end

function request.clear_header(name)
    req.clear_header(name)
end

-- The upstream URI was computed before the plugins ran: keep its path and
-- swap its query string.
function request.set_raw_query(query)
    req.set_uri_args(query)
    local uri = var.upstream_uri
    if uri and uri ~= "" then
        local q = find(uri, "?", 1, true)
        local path = q and sub(uri, 1, q - 1) or uri
        var.upstream_uri = query ~= "" and path .. "?" .. query or path
    end
end

function request.set_query(args)
    return request.set_raw_query(encode_args(args))
end

function request.set_raw_body(body)
    req.read_body()
    req.set_body_data(body)
end

-- set_body(args, mime): re-encode a body table as the request's content type.
function request.set_body(args, mime)
    mime = mime or var.content_type or ""
    local body
    if find(mime, "json", 1, true) then
        body = cjson.encode(args)
    else
        body = encode_args(args)
    end
    return request.set_raw_body(body or "")
end

return _M
